/**
 * Simulated digital I/O modules (DI/DO boards) on one Modbus bus. Each module has inputs that a
 * test or the control API switches (raw bit: true = input energised), and output coils that the
 * master writes and reads back. Failure injection: an output that ignores writes (a stuck relay),
 * a glitch (the next read of an input shows the opposite value, once), a module that answers
 * nothing. The registers and bits come from the model the driver reads (drivers/io-module/models.ts,
 * or a site model), through `writeFields`.
 *
 * `vector()` is the service vector for modbus-serial's ServerTCP / ServerSerial; its handlers
 * take callbacks so that a dead or unknown module stays silent (the master sees a timeout).
 */
import type { IServiceVector } from 'modbus-serial';
import { inputsOf, type IoModel, MODELS, outputsOf } from '../../drivers/io-module/models.js';
import { type FieldValue, type Table, writeFields } from '../../drivers/modbus/register-map.js';
import { answerNow, blockAt, illegalAddress, modbusVector } from '../common/modbus-vector.js';

export interface SimModuleInit {
  unitId: number;
  /** Default `generic-8di8do`. */
  model?: IoModel;
  /** Raw input bits, input 1 first. */
  inputs?: boolean[];
}

interface Module {
  model: IoModel;
  inputs: boolean[];
  outputs: boolean[];
  stuck: Set<number>;
  glitches: Set<number>;
  responding: boolean;
}

export class IoModuleSimulator {
  private readonly modules = new Map<number, Module>();
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(modules: readonly (number | SimModuleInit)[]) {
    for (const m of modules) {
      const init = typeof m === 'number' ? { unitId: m } : m;
      const model = init.model ?? MODELS['generic-8di8do']!;
      const inputs = Array.from({ length: inputsOf(model).length }, (_, i) => init.inputs?.[i] ?? false);
      this.modules.set(init.unitId, {
        model,
        inputs,
        outputs: new Array<boolean>(outputsOf(model).length).fill(false),
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

  /**
   * What a master reads from `len` registers or bits of `table` at `addr` (one block of the
   * model must hold them all); a glitched input read here shows the opposite value, once.
   */
  read(table: Table, unitId: number, addr: number, len: number): (number | boolean)[] {
    const m = this.module(unitId);
    const [name, block] = blockAt(m.model.blocks, table, addr, len);
    const values: Record<string, FieldValue> = {};
    m.inputs.forEach((on, i) => {
      const f = m.model.fields[`di${i + 1}`]!;
      const at = block.start + f.offset;
      const read = f.block === name && at >= addr && at < addr + len && m.glitches.delete(i);
      values[`di${i + 1}`] = read ? !on : on;
    });
    m.outputs.forEach((on, i) => (values[`do${i + 1}`] = on));
    return writeFields(m.model, values)[name]!.slice(addr - block.start, addr - block.start + len);
  }

  /** Service vector for modbus-serial servers: FC5 (and FC15 through it) switches an output; a stuck one answers but stays as it is. */
  vector(): IServiceVector {
    return modbusVector({
      read: (t, u, a, l) => this.read(t, u, a, l),
      answer: (u, cb, produce) => answerNow(this.modules.get(u)?.responding === true, cb, produce),
      setCoil: (u, addr, value) => {
        const m = this.module(u);
        const n = outputsOf(m.model).find((o) => m.model.coils[`do${o}`]!.address === addr);
        if (n === undefined) throw illegalAddress();
        if (!m.stuck.has(n - 1)) m.outputs[n - 1] = value;
      },
    });
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
    const count = this.module(unitId)[what].length;
    if (!Number.isInteger(n) || n < 1 || n > count) {
      throw new RangeError(`module ${unitId} has ${what} 1..${count}; there is no ${what.slice(0, -1)} ${n}`);
    }
    return n - 1;
  }
}

