/**
 * Simulated combustible-gas detectors on one Modbus bus. Each unit holds a level, alarm
 * thresholds, a fault code and a valve relay, and derives its status register like a real
 * detector: fault code set -> fault; else level >= high -> high alarm; else level >= low ->
 * low alarm; else normal. The register layout comes from the same map the driver reads
 * (drivers/gas-detector/models.ts), so another vendor's map can be simulated too.
 *
 * `vector()` is the service vector for modbus-serial's ServerTCP / ServerSerial. Its handlers
 * take callbacks so that an unknown or dead unit can stay silent: it never answers, like a
 * powered-off detector on RS-485 (the master sees a timeout).
 */
import type { FCallback, FCallbackVal, IServiceVector } from 'modbus-serial';
import { type GasRegisterMap, MODELS } from '../../drivers/gas-detector/models.js';
import type { GasStatus } from '../../drivers/gas-detector/normalise.js';

export interface SimUnitInit {
  unitId: number;
  /** %LEL, default 0. */
  lel?: number;
  /** %LEL, defaults 20 and 50. */
  lowThreshold?: number;
  highThreshold?: number;
  faultCode?: number;
  valveClosed?: boolean;
}

interface Unit {
  lel: number;
  lowThreshold: number;
  highThreshold: number;
  faultCode: number;
  valveClosed: boolean;
  responding: boolean;
  delayMs: number;
}

/** Modbus Application Protocol V1.1b3 §7: exception 02 ILLEGAL DATA ADDRESS. */
const illegalAddress = () => Object.assign(new Error('illegal data address'), { modbusErrorCode: 2 });

export class GasDetectorSimulator {
  private readonly units = new Map<number, Unit>();
  private readonly requestCounts = new Map<number, number>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private pending = 0;
  /** Unit ids of the requests received, oldest first (the last 10,000), answered or not. */
  readonly requestLog: number[] = [];
  /** Most requests ever waiting for an answer at once (a correct master keeps this at 1 per bus). */
  maxPending = 0;

  constructor(
    units: readonly (number | SimUnitInit)[],
    readonly map: GasRegisterMap = MODELS['generic-lel'],
  ) {
    for (const u of units) {
      const init = typeof u === 'number' ? { unitId: u } : u;
      this.units.set(init.unitId, {
        lel: init.lel ?? 0,
        lowThreshold: init.lowThreshold ?? 20,
        highThreshold: init.highThreshold ?? 50,
        faultCode: init.faultCode ?? 0,
        valveClosed: init.valveClosed ?? false,
        responding: true,
        delayMs: 0,
      });
    }
  }

  unitIds(): number[] {
    return [...this.units.keys()];
  }

  setLel(unitId: number, lel: number): void {
    this.unit(unitId).lel = lel;
  }

  setThresholds(unitId: number, low: number, high: number): void {
    Object.assign(this.unit(unitId), { lowThreshold: low, highThreshold: high });
  }

  /** A non-zero code puts the detector in fault; 0 clears it. */
  setFault(unitId: number, code: number): void {
    this.unit(unitId).faultCode = code;
  }

  /** false: the detector is dead and answers nothing at all. */
  setResponding(unitId: number, responding: boolean): void {
    this.unit(unitId).responding = responding;
  }

  /** Delay before each answer of this unit (a slow detector). */
  setResponseDelay(unitId: number, ms: number): void {
    this.unit(unitId).delayMs = ms;
  }

  /** true = valve closed (relay coil ON). */
  getValve(unitId: number): boolean {
    return this.unit(unitId).valveClosed;
  }

  setValve(unitId: number, closed: boolean): void {
    this.unit(unitId).valveClosed = closed;
  }

  status(unitId: number): GasStatus {
    const u = this.unit(unitId);
    if (u.faultCode !== 0) return 'fault';
    if (u.lel >= u.highThreshold) return 'high';
    if (u.lel >= u.lowThreshold) return 'low';
    return 'normal';
  }

  /** Requests received for a unit (answered or not). */
  requests(unitId: number): number {
    return this.requestCounts.get(unitId) ?? 0;
  }

  /** The register block of a unit as the driver reads it. */
  registers(unitId: number): number[] {
    const u = this.unit(unitId);
    const { fields, statusValues, length } = this.map;
    const words = new Array<number>(length).fill(0);
    const raw = (v: number, scale: number) => Math.max(0, Math.min(0xffff, Math.round(v / scale)));
    words[fields.lel.offset] = raw(u.lel, fields.lel.scale);
    words[fields.status.offset] = statusValues[this.status(unitId)];
    words[fields.lowThreshold.offset] = raw(u.lowThreshold, fields.lowThreshold.scale);
    words[fields.highThreshold.offset] = raw(u.highThreshold, fields.highThreshold.scale);
    words[fields.faultCode.offset] = u.faultCode & 0xffff;
    return words;
  }

  /** Service vector for modbus-serial servers (callback style: arity decides, see servertcp_handler.js). */
  vector(): IServiceVector {
    const holding = (addr: number, len: number, unitId: number) => this.read('holding', unitId, addr, len);
    const input = (addr: number, len: number, unitId: number) => this.read('input', unitId, addr, len);
    return {
      // FC3 Read Holding Registers (§6.3); the single-register form serves length-1 requests.
      getMultipleHoldingRegisters: (addr: number, len: number, unitId: number, cb: FCallbackVal<number[]>) =>
        this.answer(unitId, cb, () => holding(addr, len, unitId)),
      getHoldingRegister: (addr: number, unitId: number, cb: FCallbackVal<number>) =>
        this.answer(unitId, cb, () => holding(addr, 1, unitId)[0] ?? 0),
      // FC4 Read Input Registers (§6.4)
      getMultipleInputRegisters: (addr: number, len: number, unitId: number, cb: FCallbackVal<number[]>) =>
        this.answer(unitId, cb, () => input(addr, len, unitId)),
      getInputRegister: (addr: number, unitId: number, cb: FCallbackVal<number>) =>
        this.answer(unitId, cb, () => input(addr, 1, unitId)[0] ?? 0),
      // FC1 Read Coils (§6.1): the valve relay
      getCoil: (addr: number, unitId: number, cb: FCallbackVal<boolean>) =>
        this.answer(unitId, cb, () => this.valveAt(unitId, addr).valveClosed),
      // FC2 Read Discrete Inputs (§6.2): none on this model
      getDiscreteInput: (_addr: number, unitId: number, cb: FCallbackVal<boolean>) =>
        this.answer(unitId, cb, () => {
          throw illegalAddress();
        }),
      // FC5 Write Single Coil (§6.5): ON closes the valve
      setCoil: (addr: number, value: boolean, unitId: number, cb: FCallback) =>
        this.answer(unitId, cb, () => {
          this.valveAt(unitId, addr).valveClosed = value;
        }),
      // FC6 Write Single Register (§6.6): the thresholds are writable, nothing else
      setRegister: (addr: number, value: number, unitId: number, cb: FCallback) =>
        this.answer(unitId, cb, () => this.writeThreshold(unitId, addr, value)),
    };
  }

  /** Cancels answers still waiting for their delay. */
  dispose(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  private unit(unitId: number): Unit {
    const u = this.units.get(unitId);
    if (!u) throw new RangeError(`no simulated unit ${unitId}`);
    return u;
  }

  private answer<T>(unitId: number, cb: (err: Error | null, value: T) => void, produce: () => T): void {
    this.requestCounts.set(unitId, this.requests(unitId) + 1);
    this.requestLog.push(unitId);
    if (this.requestLog.length > 10_000) this.requestLog.shift();
    const u = this.units.get(unitId);
    if (!u?.responding) return; // silence: unknown or dead unit
    let err: Error | null = null;
    let value: T | undefined;
    try {
      value = produce();
    } catch (e) {
      err = e as Error;
    }
    this.pending += 1;
    this.maxPending = Math.max(this.maxPending, this.pending);
    const reply = () => {
      this.pending -= 1;
      cb(err, value as T);
    };
    if (u.delayMs <= 0) {
      reply();
      return;
    }
    const t = setTimeout(() => {
      this.timers.delete(t);
      reply();
    }, u.delayMs);
    this.timers.add(t);
  }

  private read(table: 'holding' | 'input', unitId: number, addr: number, len: number): number[] {
    const { start, length } = this.map;
    if (table !== this.map.table || addr < start || addr + len > start + length) throw illegalAddress();
    return this.registers(unitId).slice(addr - start, addr - start + len);
  }

  private valveAt(unitId: number, addr: number): Unit {
    if (this.map.valveCoil === null || addr !== this.map.valveCoil) throw illegalAddress();
    return this.unit(unitId);
  }

  private writeThreshold(unitId: number, addr: number, value: number): void {
    const { table, start, fields } = this.map;
    const u = this.unit(unitId);
    if (table === 'holding' && addr === start + fields.lowThreshold.offset) {
      u.lowThreshold = value * fields.lowThreshold.scale;
    } else if (table === 'holding' && addr === start + fields.highThreshold.offset) {
      u.highThreshold = value * fields.highThreshold.scale;
    } else throw illegalAddress();
  }
}
