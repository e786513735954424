/**
 * Simulated streetlight controllers on one Modbus bus. Each lamp has a relay and a dim level
 * written by the master, and draws power by its level (a 100 W LED at 100 %, mains 230 V, power
 * factor 0.95); its energy meter accumulates as simulated time passes. An injected lamp failure
 * sets the lamp's failure status bit and its power drops to 0; an injected controller fault sets
 * the fault code. The registers come from the model the driver reads
 * (drivers/streetlight/models.ts), through `writeFields`.
 */
import type { IServiceVector } from 'modbus-serial';
import { LIGHT_MODELS, type LightModel, lampsOf } from '../../drivers/streetlight/models.js';
import { type FieldValue, type Table, writeFields } from '../../drivers/modbus/register-map.js';
import { answerNow, illegalAddress, modbusError, modbusVector, readBlock } from '../common/modbus-vector.js';

const RATED_W = 100;
const VOLTS = 230;
const POWER_FACTOR = 0.95;

export interface SimLamp {
  on: boolean;
  /** Dim level, %. */
  level: number;
  energyWh: number;
  /** `none`, or the failure bit set (e.g. open-circuit). */
  failure: string;
}

export class StreetlightSimulator {
  private readonly units = new Map<number, { model: LightModel; lamps: Map<number, SimLamp>; fault: number; responding: boolean }>();
  /** Read requests answered so far per table (every unit): a test waits on them for a poll to have happened. */
  readonly reads: Record<Table, number> = { holding: 0, input: 0, coils: 0, discrete: 0 };

  constructor(units: readonly (number | { unitId: number; model?: LightModel })[]) {
    for (const u of units) {
      const init = typeof u === 'number' ? { unitId: u } : u;
      const model = init.model ?? LIGHT_MODELS['single-lamp']!;
      const lamps = new Map(lampsOf(model).map((n): [number, SimLamp] => [n, { on: false, level: 100, energyWh: 0, failure: 'none' }]));
      this.units.set(init.unitId, { model, lamps, fault: 0, responding: true });
    }
  }

  lamp(unitId: number, lamp: number): SimLamp {
    const l = this.unit(unitId).lamps.get(lamp);
    if (!l) throw new RangeError(`unit ${unitId} has no lamp ${lamp}; its lamps are ${[...this.unit(unitId).lamps.keys()].join(', ')}`);
    return l;
  }

  unitIds(): number[] {
    return [...this.units.keys()];
  }

  setResponding(unitId: number, responding: boolean): void {
    this.unit(unitId).responding = responding;
  }

  /** Fails a lamp (true: open circuit, or the name of a failure bit of the model) or repairs it (false). */
  fail(unitId: number, lamp: number, failure: boolean | string): void {
    const l = this.lamp(unitId, lamp);
    const reason = failure === true ? 'open-circuit' : failure === false ? 'none' : failure;
    const f = this.unit(unitId).model.fields[`lamp${lamp}-failure`]!;
    if (reason !== 'none' && f.type === 'bits' && !Object.hasOwn(f.bits ?? {}, reason)) {
      throw new RangeError(`lamp failure "${reason}" is not a status bit of this model; use true or one of ${Object.keys(f.bits ?? {}).join(', ')}`);
    }
    l.failure = reason;
  }

  setFault(unitId: number, code: number): void {
    this.unit(unitId).fault = code;
  }

  watts(l: SimLamp): number {
    return l.on && l.failure === 'none' ? (RATED_W * l.level) / 100 : 0;
  }

  /** Advances every lamp's energy meter by `ms` of simulated time. */
  step(ms: number): void {
    for (const u of this.units.values()) for (const l of u.lamps.values()) l.energyWh += (this.watts(l) * ms) / 3_600_000;
  }

  /** The blocks of a unit as the driver reads them. */
  blocks(unitId: number): Record<string, number[] | boolean[]> {
    const u = this.unit(unitId);
    const values: Record<string, FieldValue> = { fault: u.fault };
    for (const [n, l] of u.lamps) {
      const watts = this.watts(l);
      const bits = u.model.fields[`lamp${n}-failure`]!.type === 'bits';
      Object.assign(values, {
        [`lamp${n}-on`]: l.on,
        [`lamp${n}-level`]: l.level,
        [`lamp${n}-voltage`]: VOLTS,
        [`lamp${n}-current`]: watts / (VOLTS * POWER_FACTOR),
        [`lamp${n}-power`]: watts,
        [`lamp${n}-energy`]: Math.floor(l.energyWh),
        [`lamp${n}-failure`]: bits ? l.failure : l.failure !== 'none',
      });
    }
    return writeFields(u.model, values);
  }

  read(table: Table, unitId: number, addr: number, len: number): (number | boolean)[] {
    const values = readBlock(this.unit(unitId).model.blocks, this.blocks(unitId), table, addr, len);
    this.reads[table]++;
    return values;
  }

  /** Service vector for modbus-serial servers: FC5 switches a lamp's relay, FC6 sets its dim level. */
  vector(): IServiceVector {
    return modbusVector({
      read: (t, u, a, l) => this.read(t, u, a, l),
      answer: (u, cb, produce) => answerNow(this.units.get(u)?.responding === true, cb, produce),
      setCoil: (u, a, v) => void (this.lamp(u, this.lampAt(u, 'on', a)).on = v),
      // above 100 % is exception 03 (illegal data value)
      setRegister: (u, a, v) => {
        const n = this.lampAt(u, 'level', a);
        const f = this.unit(u).model.fields[`lamp${n}-level`]!;
        const level = (f.type === 'int16' ? (v << 16) >> 16 : v) * f.scale + f.valueOffset;
        if (level < 0 || level > 100) throw modbusError(3, 'illegal data value');
        this.lamp(u, n).level = level;
      },
    });
  }

  dispose(): void {}

  /** The lamp whose relay coil / level holding register is at `addr`, else exception 02. */
  private lampAt(unitId: number, what: 'on' | 'level', addr: number): number {
    const m = this.unit(unitId).model;
    for (const n of lampsOf(m)) {
      if (what === 'on' && m.coils[`lamp${n}-on`]?.address === addr) return n;
      const f = m.fields[`lamp${n}-level`]!;
      if (what === 'level' && m.blocks[f.block]!.table === 'holding' && m.blocks[f.block]!.start + f.offset === addr) return n;
    }
    throw illegalAddress();
  }

  private unit(unitId: number) {
    const u = this.units.get(unitId);
    if (!u) throw new RangeError(`no simulated controller ${unitId}`);
    return u;
  }
}
