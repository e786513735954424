/**
 * Streetlight driver: one Modbus bus and the lamp controllers on it. `poll` reads a controller's
 * blocks (one request each), emits what changed per lamp, then brings the lamps to the desired
 * state of their group's schedule (schedule.ts), writing only the difference: the dim level
 * (FC6, Modbus Application Protocol V1.1b3 §6.6) and the relay (FC5, §6.5). The desired state is
 * computed from the wall clock at every poll, never from a timer armed on wall time.
 *
 * A manual `light.on` / `light.off` / `light.dim` holds the lamp until the next transition of
 * its schedule. `light.emergency {on: true}` is kept in the driver's durable store: lamps the
 * schedule has on burn at 100 % until `light.emergency {on: false}`; by day nothing changes.
 */
import { z } from 'zod';
import type { CommandResult, DriverContext, DriverInstance } from '../../gateway/devices/driver-api.js';
import type { ModbusBus } from '../modbus/modbus-bus.js';
import { openPolledBus, readDevice } from '../modbus/polled-bus.js';
import { InvalidRegisters, readFields } from '../modbus/register-map.js';
import { lampsOf } from './models.js';
import { type ControllerMemory, controllerReading, type LampReading, normalise } from './normalise.js';
import { type Desired, desiredAt, type Place, usesSun } from './schedule.js';
import type { StreetlightConfig, StreetlightDevice } from './schema.js';

const Lamp = z.number().int().min(1).optional().describe('lamp channel; omitted: every lamp of the controller');
export const LIGHT_COMMANDS = {
  /** Switch a lamp (or every lamp) on: coil ON, read back. Holds until the next schedule transition. */
  'light.on': z.strictObject({ lamp: Lamp }),
  /** Switch a lamp (or every lamp) off: coil OFF, read back. Holds until the next schedule transition. */
  'light.off': z.strictObject({ lamp: Lamp }),
  /** Write a lamp's (or every lamp's) dim level, %, to its holding register, read back. */
  'light.dim': z.strictObject({ lamp: Lamp, level: z.number().int().min(0).max(100) }),
  /** Emergency full-on (durable): lamps the schedule has on go to 100 %; off: back to the schedule. */
  'light.emergency': z.strictObject({ on: z.boolean() }),
} as const;
export type LightCommands = typeof LIGHT_COMMANDS;

const fail = (error: string): CommandResult => ({ ok: false, error });
const emergencyKey = (d: StreetlightDevice) => `emergency/${d.id}`;

export class StreetlightDriver implements DriverInstance<StreetlightDevice, LightCommands> {
  private readonly bus: ModbusBus;
  private readonly memory = new Map<string, ControllerMemory>();
  /** Lamps switched by hand (`<device>/<lamp>`) → the schedule transition they hold until. */
  private readonly holds = new Map<string, number>();

  readonly commands = {
    'light.on': (d: StreetlightDevice, a: { lamp?: number }) => this.relay(d, a.lamp, true),
    'light.off': (d: StreetlightDevice, a: { lamp?: number }) => this.relay(d, a.lamp, false),
    'light.dim': (d: StreetlightDevice, a: { lamp?: number; level: number }) => this.dim(d, a.lamp, a.level),
    'light.emergency': async (d: StreetlightDevice, a: { on: boolean }): Promise<CommandResult> => {
      if (a.on) this.ctx.store.set(emergencyKey(d), true);
      else this.ctx.store.delete(emergencyKey(d));
      for (const lamp of lampsOf(d.map)) this.holds.delete(`${d.id}/${lamp}`);
      this.ctx.pollNow();
      return { ok: true, data: { emergency: a.on } };
    },
  };

  constructor(
    private readonly cfg: StreetlightConfig,
    private readonly ctx: DriverContext,
  ) {
    this.bus = openPolledBus(cfg, ctx);
  }

  /** Where the lamps are: the driver's latitude/longitude, else the site's. */
  private place(): Place | undefined {
    const latitude = this.cfg.latitude ?? this.ctx.site.latitude;
    const longitude = this.cfg.longitude ?? this.ctx.site.longitude;
    return latitude === undefined || longitude === undefined ? undefined : { latitude, longitude, timezone: this.ctx.site.timezone };
  }

  async start(): Promise<void> {
    const sunny = Object.entries(this.cfg.schedules).filter(([, s]) => usesSun(s)).map(([g]) => g);
    if (sunny.length > 0 && !this.place()) {
      throw new Error(
        `streetlight driver ${this.cfg.id}: the schedules of ${sunny.join(', ')} follow the sun, but neither the site nor the driver gives a latitude and longitude; add latitude: and longitude: under site: of the site file (or to this driver)`,
      );
    }
    for (const group of Object.keys(this.cfg.schedules)) {
      const d = this.desired(group, this.ctx.clock.now());
      this.ctx.log.info({ group, on: d.on, level: d.level, since: new Date(d.since).toISOString() }, 'streetlight schedule: desired state now');
    }
    this.bus.start();
  }

  async stop(): Promise<void> {
    await this.bus.close();
  }

  private desired(group: string, t: number): Desired {
    const place = this.place() ?? { latitude: 0, longitude: 0, timezone: this.ctx.site.timezone };
    return desiredAt(t, place, this.cfg.schedules[group]!);
  }

  async poll(d: StreetlightDevice): Promise<void> {
    const blocks = await readDevice(this.bus, d.unitId, d.map);
    const now = this.ctx.clock.now();
    let cur;
    try {
      cur = controllerReading(readFields(d.map, blocks), lampsOf(d.map));
    } catch (err) {
      if (err instanceof InvalidRegisters) return this.ctx.invalid(d.id, err.message, blocks);
      throw err;
    }
    if (typeof cur === 'string') return this.ctx.invalid(d.id, cur, blocks);
    const policy = { deviceId: d.id, reportIntervalMs: this.cfg.reportIntervalMs, faultCodes: this.cfg.faultCodes };
    const { memory, events } = normalise(this.memory.get(d.id), cur, new Date(now), policy);
    this.memory.set(d.id, memory);
    for (const e of events) this.ctx.emit(e);
    if (d.group !== undefined) await this.follow(d, d.group, cur.lamps, now);
  }

  /** Writes what differs between the lamps and the desired state of their group (emergency and manual holds applied). */
  private async follow(d: StreetlightDevice, group: string, lamps: LampReading[], now: number): Promise<void> {
    const want = this.desired(group, now);
    const emergency = this.ctx.store.get(emergencyKey(d)) === true;
    const level = emergency && want.on ? 100 : want.level;
    for (const r of lamps) {
      const key = `${d.id}/${r.lamp}`;
      if (!emergency && this.holds.get(key) === want.since) continue;
      this.holds.delete(key);
      if (want.on && r.level !== level) {
        this.ctx.log.info({ device: d.id, lamp: r.lamp, level, emergency }, 'streetlight schedule: dim');
        await this.writeLevel(d, r.lamp, level);
      }
      if (r.on !== want.on) {
        this.ctx.log.info({ device: d.id, lamp: r.lamp, on: want.on, emergency }, 'streetlight schedule: switch');
        await this.bus.writeCoil(d.unitId, d.map.coils[`lamp${r.lamp}-on`]!.address, want.on);
      }
    }
  }

  /** The lamps a command names (all when none), or why it cannot. */
  private lamps(d: StreetlightDevice, lamp: number | undefined): number[] | CommandResult {
    const all = lampsOf(d.map);
    if (lamp === undefined) return all;
    return all.includes(lamp) ? [lamp] : fail(`${d.id} (model ${d.model}) has no lamp ${lamp}; its lamps are ${all[0]}..${all.at(-1)}`);
  }

  /** A manual change holds the lamp until the next transition of its group's schedule. */
  private hold(d: StreetlightDevice, lamps: number[]): void {
    if (d.group === undefined) return;
    const since = this.desired(d.group, this.ctx.clock.now()).since;
    for (const lamp of lamps) this.holds.set(`${d.id}/${lamp}`, since);
  }

  private async relay(d: StreetlightDevice, lamp: number | undefined, on: boolean): Promise<CommandResult> {
    const lamps = this.lamps(d, lamp);
    if (!Array.isArray(lamps)) return lamps;
    this.hold(d, lamps);
    const wrong: number[] = [];
    for (const n of lamps) {
      const coil = d.map.coils[`lamp${n}-on`]!.address;
      await this.bus.writeCoil(d.unitId, coil, on, 'high');
      // Read back (FC1): the result is what the controller says, not what was asked.
      const [now] = await this.bus.readCoils(d.unitId, coil, 1, 'high');
      if (now !== on) wrong.push(n);
    }
    if (wrong.length > 0) return fail(`lamp ${wrong.join(', ')} reads ${on ? 'off' : 'on'} after the write`);
    return { ok: true, data: { lamps, on } };
  }

  private async dim(d: StreetlightDevice, lamp: number | undefined, level: number): Promise<CommandResult> {
    const lamps = this.lamps(d, lamp);
    if (!Array.isArray(lamps)) return lamps;
    this.hold(d, lamps);
    for (const n of lamps) {
      const back = await this.writeLevel(d, n, level, 'high');
      if (back !== level) return fail(`level of lamp ${n} reads ${back} % after writing ${level} %`);
    }
    return { ok: true, data: { lamps, level } };
  }

  /** Writes a lamp's level register (FC6) and returns what it reads back (FC3), in %. */
  private async writeLevel(d: StreetlightDevice, lamp: number, level: number, priority?: 'high'): Promise<number> {
    const f = d.map.fields[`lamp${lamp}-level`]!;
    const address = d.map.blocks[f.block]!.start + f.offset;
    const raw = Math.round((level - f.valueOffset) / f.scale) & 0xffff;
    await this.bus.writeRegister(d.unitId, address, raw, priority);
    const [back] = await this.bus.readHolding(d.unitId, address, 1, priority);
    const signed = f.type === 'int16' ? (back! << 16) >> 16 : back!;
    return Math.round((signed * f.scale + f.valueOffset) * 1e6) / 1e6;
  }
}
