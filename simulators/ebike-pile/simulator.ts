/**
 * Simulated e-bike charging piles on one Modbus bus. Each port holds a plugged-in load that
 * draws a charging curve over time (constant current, then tapering to full), a relay, an
 * overcurrent limit, a temperature and a fault code. Like a real pile it cuts a port by itself
 * on overcurrent (fault code 1) or overheating (fault code 2, at 70 °C) and latches the fault
 * until the relay is switched on again; a stuck relay does not trip (the protection fails), while
 * a write from the master still switches it. The registers come from the model the driver reads
 * (drivers/ebike-pile/models.ts), through `writeFields`.
 */
import type { IServiceVector } from 'modbus-serial';
import { EBIKE_MODELS, type EbikeModel, portsOf } from '../../drivers/ebike-pile/models.js';
import { type Table, type FieldValue, writeFields } from '../../drivers/modbus/register-map.js';
import { answerNow, illegalAddress, modbusVector, readBlock } from '../common/modbus-vector.js';

const VOLTS = 48;
const BULK_AMPS = 3;
const BULK_MS = 60_000;
const TAPER_MS = 30_000;
const TRIP_C = 70;
const AMBIENT_C = 25;

export interface SimPort {
  plugged: boolean;
  /** ms charged so far in this session. */
  chargedMs: number;
  relayOn: boolean;
  limitAmps: number;
  energyWh: number;
  faultCode: number;
  stuckRelay: boolean;
  overcurrent: boolean;
  overtemperature: boolean;
  amps: number;
}

export class EbikePileSimulator {
  private readonly units = new Map<number, { model: EbikeModel; ports: Map<number, SimPort>; responding: boolean }>();

  constructor(units: readonly (number | { unitId: number; model?: EbikeModel })[]) {
    for (const u of units) {
      const init = typeof u === 'number' ? { unitId: u } : u;
      const model = init.model ?? EBIKE_MODELS['generic-10port']!;
      const ports = new Map(portsOf(model).map((n): [number, SimPort] => [n, {
        plugged: false, chargedMs: 0, relayOn: true, limitAmps: 5, energyWh: 0, faultCode: 0,
        stuckRelay: false, overcurrent: false, overtemperature: false, amps: 0,
      }]));
      this.units.set(init.unitId, { model, ports, responding: true });
    }
  }

  port(unitId: number, port: number): SimPort {
    const p = this.unit(unitId).ports.get(port);
    if (!p) throw new RangeError(`unit ${unitId} has no port ${port}`);
    return p;
  }

  setResponding(unitId: number, responding: boolean): void {
    this.unit(unitId).responding = responding;
  }

  /** Plugging in starts a session at the start of the curve; unplugging ends it. */
  plug(unitId: number, port: number, plugged: boolean): void {
    const p = this.port(unitId, port);
    p.plugged = plugged;
    p.chargedMs = 0;
    this.step(0);
  }

  /** Injected conditions and the stuck relay; each applies at once (a trip happens now). */
  inject(unitId: number, port: number, c: Partial<Pick<SimPort, 'overcurrent' | 'overtemperature' | 'stuckRelay'>>): void {
    Object.assign(this.port(unitId, port), c);
    this.step(0);
  }

  setRelay(unitId: number, port: number, on: boolean): void {
    const p = this.port(unitId, port);
    p.relayOn = on;
    if (on) p.faultCode = 0; // switching on resets the latched fault; a persisting cause trips again
    this.step(0);
  }

  /** Advances every port by `ms` (in steps of at most 1 s): current along the curve, energy, protection. */
  step(ms: number): void {
    for (let left = ms; left > 1000; left -= 1000) this.advance(1000);
    this.advance(ms > 1000 ? ((ms - 1) % 1000) + 1 : ms);
  }

  private advance(ms: number): void {
    for (const u of this.units.values()) {
      for (const p of u.ports.values()) {
        const powered = p.plugged && p.relayOn;
        if (powered) p.chargedMs += ms;
        const curve = p.chargedMs < BULK_MS ? BULK_AMPS : BULK_AMPS * Math.exp(-(p.chargedMs - BULK_MS) / TAPER_MS);
        p.amps = !powered ? 0 : p.overcurrent ? Math.max(p.limitAmps * 1.5, 1) : curve < 0.1 ? 0 : curve;
        p.energyWh += (p.amps * VOLTS * ms) / 3_600_000;
        if (p.stuckRelay || !p.relayOn) continue;
        if (p.amps > p.limitAmps) this.trip(p, 1);
        else if (this.temperature(p) >= TRIP_C) this.trip(p, 2);
      }
    }
  }

  temperature(p: SimPort): number {
    return p.overtemperature ? 85 : AMBIENT_C + p.amps * 2;
  }

  state(p: SimPort): 'idle' | 'charging' | 'full' | 'fault' {
    if (p.faultCode !== 0) return 'fault';
    if (!p.plugged) return 'idle';
    if (p.relayOn && p.amps === 0) return 'full';
    return p.relayOn ? 'charging' : 'idle';
  }

  /** The blocks of a unit as the driver reads them. */
  blocks(unitId: number): Record<string, number[] | boolean[]> {
    const u = this.unit(unitId);
    const values: Record<string, FieldValue> = {};
    for (const [n, p] of u.ports) {
      Object.assign(values, {
        [`port${n}-state`]: this.state(p),
        [`port${n}-current`]: p.amps,
        [`port${n}-power`]: p.amps * VOLTS,
        [`port${n}-energy`]: Math.floor(p.energyWh),
        [`port${n}-temperature`]: this.temperature(p),
        [`port${n}-fault`]: p.faultCode,
        [`port${n}-limit`]: p.limitAmps,
        [`port${n}-relay`]: p.relayOn,
      });
    }
    return writeFields(u.model, values);
  }

  read(table: Table, unitId: number, addr: number, len: number): (number | boolean)[] {
    return readBlock(this.unit(unitId).model.blocks, this.blocks(unitId), table, addr, len);
  }

  /** Service vector for modbus-serial servers: FC5 switches a port's relay, FC6 sets its overcurrent limit. */
  vector(): IServiceVector {
    return modbusVector({
      read: (t, u, a, l) => this.read(t, u, a, l),
      answer: (u, cb, produce) => answerNow(this.units.get(u)?.responding === true, cb, produce),
      setCoil: (u, a, v) => this.setRelay(u, this.portAt(u, 'relay', a), v),
      setRegister: (u, a, v) => {
        const n = this.portAt(u, 'limit', a);
        const f = this.unit(u).model.fields[`port${n}-limit`]!;
        this.port(u, n).limitAmps = v * f.scale + f.valueOffset;
      },
    });
  }

  dispose(): void {}

  private trip(p: SimPort, code: number): void {
    p.relayOn = false;
    p.faultCode = code;
    p.amps = 0;
  }

  /** The port whose relay coil / limit holding register is at `addr`, else exception 02. */
  private portAt(unitId: number, what: 'relay' | 'limit', addr: number): number {
    const m = this.unit(unitId).model;
    for (const n of portsOf(m)) {
      if (what === 'relay' && m.coils[`port${n}-relay`]?.address === addr) return n;
      const f = m.fields[`port${n}-limit`]!;
      const b = m.blocks[f.block]!;
      if (what === 'limit' && b.table === 'holding' && b.start + f.offset === addr && f.type === 'uint16') return n;
    }
    throw illegalAddress();
  }

  private unit(unitId: number) {
    const u = this.units.get(unitId);
    if (!u) throw new RangeError(`no simulated pile ${unitId}`);
    return u;
  }
}
