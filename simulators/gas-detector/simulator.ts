/**
 * Simulated combustible-gas detectors on one Modbus bus. Each unit holds a level, alarm
 * thresholds, a fault code and a valve relay, and derives its status register like a real
 * detector: fault code set -> fault; else level >= high -> high alarm; else level >= low ->
 * low alarm; else normal. The register layout comes from the same model the driver reads
 * (drivers/gas-detector/models.ts, or a site model), so any model can be simulated; each unit
 * may have its own.
 *
 * `vector()` is the service vector for modbus-serial's ServerTCP / ServerSerial. Its handlers
 * take callbacks so that an unknown or dead unit can stay silent: it never answers, like a
 * powered-off detector on RS-485 (the master sees a timeout).
 */
import type { IServiceVector } from 'modbus-serial';
import { GAS_MODELS, type GasModel, type GasStatus } from '../../drivers/gas-detector/models.js';
import { type Table, writeFields } from '../../drivers/modbus/register-map.js';
import { illegalAddress, modbusVector, readBlock } from '../common/modbus-vector.js';

export interface SimUnitInit {
  unitId: number;
  /** %LEL, default 0. */
  lel?: number;
  /** %LEL, defaults 20 and 50. */
  lowThreshold?: number;
  highThreshold?: number;
  faultCode?: number;
  valveClosed?: boolean;
  /** Default: the simulator's model. */
  model?: GasModel;
}

interface Unit {
  model: GasModel;
  lel: number;
  lowThreshold: number;
  highThreshold: number;
  faultCode: number;
  valveClosed: boolean;
  responding: boolean;
  delayMs: number;
}

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
    readonly model: GasModel = GAS_MODELS['generic-lel']!,
  ) {
    for (const u of units) {
      const init = typeof u === 'number' ? { unitId: u } : u;
      this.units.set(init.unitId, {
        model: init.model ?? model,
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

  /** An absent threshold is left as it is. */
  setThresholds(unitId: number, low: number | undefined, high: number | undefined): void {
    const u = this.unit(unitId);
    u.lowThreshold = low ?? u.lowThreshold;
    u.highThreshold = high ?? u.highThreshold;
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

  /** The blocks of a unit as the driver reads them (block name -> registers or bits). */
  blocks(unitId: number): Record<string, number[] | boolean[]> {
    const u = this.unit(unitId);
    return writeFields(u.model, {
      lel: u.lel,
      status: this.status(unitId),
      lowThreshold: u.lowThreshold,
      highThreshold: u.highThreshold,
      faultCode: u.faultCode,
    });
  }

  /** The registers of a unit's first block (the whole map of a one-block model). */
  registers(unitId: number): number[] {
    return Object.values(this.blocks(unitId))[0] as number[];
  }

  /**
   * What a read of `len` registers or bits at `addr` of a table answers: from the block that
   * holds them all, or the valve coil; else exception 02 (Modbus Application Protocol V1.1b3 §7).
   */
  read(table: Table, unitId: number, addr: number, len: number): (number | boolean)[] {
    const u = this.unit(unitId);
    if (table === 'coils' && len === 1 && u.model.coils.valve?.address === addr) return [u.valveClosed];
    return readBlock(u.model.blocks, this.blocks(unitId), table, addr, len);
  }

  /** Service vector for modbus-serial servers: FC5 ON closes the valve; FC6 writes a threshold, nothing else. */
  vector(): IServiceVector {
    return modbusVector({
      read: (t, u, a, l) => this.read(t, u, a, l),
      answer: (u, cb, produce) => this.answer(u, cb, produce),
      setCoil: (u, a, v) => void (this.valveAt(u, a).valveClosed = v),
      setRegister: (u, a, v) => this.writeThreshold(u, a, v),
    });
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

  private valveAt(unitId: number, addr: number): Unit {
    const u = this.unit(unitId);
    if (u.model.coils.valve?.address !== addr) throw illegalAddress();
    return u;
  }

  /** A threshold in a one-register field of a holding block is writable (FC6), nothing else. */
  private writeThreshold(unitId: number, addr: number, value: number): void {
    const u = this.unit(unitId);
    for (const name of ['lowThreshold', 'highThreshold'] as const) {
      const f = u.model.fields[name]!;
      const b = u.model.blocks[f.block]!;
      if (b.table === 'holding' && addr === b.start + f.offset && (f.type === 'uint16' || f.type === 'int16')) {
        const raw = f.type === 'int16' ? (value << 16) >> 16 : value;
        u[name] = raw * f.scale + f.valueOffset;
        return;
      }
    }
    throw illegalAddress();
  }
}
