/**
 * Simulated digital I/O modules (DI/DO boards) on one Modbus bus. Each module has inputs that a
 * test or the control API switches (raw bit: true = input energised), and output coils that the
 * master writes and reads back. Failure injection: an output that ignores writes (a stuck relay),
 * a glitch (the next read of an input shows the opposite value, once), a module that answers
 * nothing. The register layout comes from the same model data the driver reads
 * (drivers/io-module/models.ts).
 *
 * `vector()` is the service vector for modbus-serial's ServerTCP / ServerSerial; its handlers
 * take callbacks so that a dead or unknown module stays silent (the master sees a timeout).
 */
import type { FCallback, FCallbackVal, IServiceVector } from 'modbus-serial';
import { type IoModuleModel, MODELS } from '../../drivers/io-module/models.js';

export interface SimModuleInit {
  unitId: number;
  /** Default `generic-8di8do`. */
  model?: IoModuleModel;
  /** Raw input bits, input 1 first. */
  inputs?: boolean[];
}

interface Module {
  model: IoModuleModel;
  inputs: boolean[];
  outputs: boolean[];
  stuck: Set<number>;
  glitches: Set<number>;
  responding: boolean;
}

/** Modbus Application Protocol V1.1b3 §7: exception 02 ILLEGAL DATA ADDRESS. */
const illegalAddress = () => Object.assign(new Error('illegal data address'), { modbusErrorCode: 2 });

export class IoModuleSimulator {
  private readonly modules = new Map<number, Module>();
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(modules: readonly (number | SimModuleInit)[]) {
    for (const m of modules) {
      const init = typeof m === 'number' ? { unitId: m } : m;
      const model = init.model ?? MODELS['generic-8di8do']!;
      const inputs = Array.from({ length: model.inputs.count }, (_, i) => init.inputs?.[i] ?? false);
      this.modules.set(init.unitId, {
        model,
        inputs,
        outputs: new Array<boolean>(model.outputs.count).fill(false),
        stuck: new Set(),
        glitches: new Set(),
        responding: true,
      });
    }
  }

  unitIds(): number[] {
    return [...this.modules.keys()];
  }

  /** Raw input bits of a module, input 1 first (what a master reads, glitches aside). */
  inputs(unitId: number): boolean[] {
    return [...this.module(unitId).inputs];
  }

  outputs(unitId: number): boolean[] {
    return [...this.module(unitId).outputs];
  }

  setInput(unitId: number, n: number, value: boolean): void {
    this.module(unitId).inputs[this.index(unitId, n, 'inputs')] = value;
  }

  /** The input reads `value` for `ms` (default 500), then the opposite: a press of a button. */
  press(unitId: number, n: number, ms = 500, value = true): void {
    this.setInput(unitId, n, value);
    const t = setTimeout(() => {
      this.timers.delete(t);
      this.setInput(unitId, n, !value);
    }, ms);
    this.timers.add(t);
  }

  /** The next read of input n shows the opposite of its value, once (a bounce or line glitch). */
  glitch(unitId: number, n: number): void {
    this.module(unitId).glitches.add(this.index(unitId, n, 'inputs'));
  }

  /** Glitches not read yet. */
  pendingGlitches(unitId: number): number {
    return this.module(unitId).glitches.size;
  }

  output(unitId: number, n: number): boolean {
    return this.module(unitId).outputs[this.index(unitId, n, 'outputs')] ?? false;
  }

  /** Switches an output as a person would at the module (manual mode), not through Modbus. */
  setOutput(unitId: number, n: number, on: boolean): void {
    this.module(unitId).outputs[this.index(unitId, n, 'outputs')] = on;
  }

  /** A stuck output answers writes but does not change (a welded or dead relay). */
  setStuck(unitId: number, n: number, stuck: boolean): void {
    const m = this.module(unitId);
    const i = this.index(unitId, n, 'outputs');
    if (stuck) m.stuck.add(i);
    else m.stuck.delete(i);
  }

  /** false: the module is dead and answers nothing at all. */
  setResponding(unitId: number, responding: boolean): void {
    this.module(unitId).responding = responding;
  }

  /** The input registers of a bit-packed model (16 inputs per register, bit 0 = lowest input). */
  registers(unitId: number): number[] {
    return pack(this.module(unitId).inputs);
  }

  /** Service vector for modbus-serial servers (callback style: arity decides, see servertcp_handler.js). */
  vector(): IServiceVector {
    const words = (table: 'holding' | 'input', addr: number, len: number, unitId: number) => {
      const m = this.module(unitId);
      const { start, table: t } = m.model.inputs;
      const all = t === table ? pack(m.inputs.map((on, i) => this.readInput(m, i) ?? on)) : [];
      if (addr < start || addr + len > start + all.length) throw illegalAddress();
      return all.slice(addr - start, addr - start + len);
    };
    return {
      // FC2 Read Discrete Inputs (§6.2): one call per bit
      getDiscreteInput: (addr: number, unitId: number, cb: FCallbackVal<boolean>) =>
        this.answer(unitId, cb, (m) => {
          const { table, start, count } = m.model.inputs;
          if (table !== 'discrete' || addr < start || addr >= start + count) throw illegalAddress();
          return this.readInput(m, addr - start) ?? m.inputs[addr - start]!;
        }),
      // FC3 / FC4 (§6.3, §6.4): bit-packed inputs of register models
      getMultipleHoldingRegisters: (addr: number, len: number, unitId: number, cb: FCallbackVal<number[]>) =>
        this.answer(unitId, cb, () => words('holding', addr, len, unitId)),
      getHoldingRegister: (addr: number, unitId: number, cb: FCallbackVal<number>) =>
        this.answer(unitId, cb, () => words('holding', addr, 1, unitId)[0]!),
      getMultipleInputRegisters: (addr: number, len: number, unitId: number, cb: FCallbackVal<number[]>) =>
        this.answer(unitId, cb, () => words('input', addr, len, unitId)),
      getInputRegister: (addr: number, unitId: number, cb: FCallbackVal<number>) =>
        this.answer(unitId, cb, () => words('input', addr, 1, unitId)[0]!),
      // FC1 Read Coils (§6.1): the outputs
      getCoil: (addr: number, unitId: number, cb: FCallbackVal<boolean>) =>
        this.answer(unitId, cb, (m) => m.outputs[this.coil(m, addr)]!),
      // FC5 Write Single Coil (§6.5), and FC15 through it: a stuck output answers but stays as it is
      setCoil: (addr: number, value: boolean, unitId: number, cb: FCallback) =>
        this.answer(unitId, cb, (m) => {
          const i = this.coil(m, addr);
          if (!m.stuck.has(i)) m.outputs[i] = value;
        }),
    };
  }

  /** Cancels pending releases of pressed inputs. */
  dispose(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  private module(unitId: number): Module {
    const m = this.modules.get(unitId);
    if (!m) throw new RangeError(`no simulated module with unit id ${unitId}`);
    return m;
  }

  private index(unitId: number, n: number, what: 'inputs' | 'outputs'): number {
    const count = this.module(unitId).model[what].count;
    if (!Number.isInteger(n) || n < 1 || n > count) {
      throw new RangeError(`module ${unitId} has ${what} 1..${count}; there is no ${what.slice(0, -1)} ${n}`);
    }
    return n - 1;
  }

  /** A glitched input reads inverted once; undefined otherwise. */
  private readInput(m: Module, i: number): boolean | undefined {
    if (!m.glitches.delete(i)) return undefined;
    return !m.inputs[i];
  }

  private coil(m: Module, addr: number): number {
    const { start, count } = m.model.outputs;
    if (addr < start || addr >= start + count) throw illegalAddress();
    return addr - start;
  }

  private answer<T>(unitId: number, cb: (err: Error | null, value: T) => void, produce: (m: Module) => T): void {
    const m = this.modules.get(unitId);
    if (!m?.responding) return; // silence: unknown or dead module
    let value: T;
    try {
      value = produce(m);
    } catch (e) {
      cb(e as Error, undefined as T);
      return;
    }
    cb(null, value);
  }
}

function pack(bits: readonly boolean[]): number[] {
  const words = new Array<number>(Math.ceil(bits.length / 16)).fill(0);
  bits.forEach((on, i) => {
    if (on) words[i >> 4]! |= 1 << (i & 15);
  });
  return words;
}
