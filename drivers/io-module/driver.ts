/**
 * io-module driver: one Modbus bus and the DI/DO modules on it. The host polls each bound input
 * and output (its devices, module by module); the driver reads a module once for all of them
 * (its inputs with one request, its coils with one more) and shares that read, or its failure,
 * with the module's other devices polled in the same cycle. So a module that stops answering
 * takes all its devices offline together, and one answer brings them all back.
 */
import { z } from 'zod';
import {
  type CommandOutcome,
  type CommandResult,
  type DriverContext,
  type DriverInstance,
  errorMessage,
  LinkDown,
} from '../../gateway/devices/driver-api.js';
import type { ModbusBus } from '../modbus/modbus-bus.js';
import { isBusFault, ModbusError, toModbusError } from '../modbus/modbus-errors.js';
import { openPolledBus } from '../modbus/polled-bus.js';
import { type FieldValues, InvalidRegisters, readBlocks, readFields } from '../modbus/register-map.js';
import { debounce, type InputTrack, newTrack } from './debounce.js';
import { IO_EVENTS } from './events.js';
import type { IoModel } from './models.js';
import { type IoDevice, type IoInput, type IoModule, type IoModuleConfig, type IoOutput, modelOf } from './schema.js';

export const IO_COMMANDS = {
  /** Output coil ON (FC5 Write Single Coil, Modbus Application Protocol V1.1b3 §6.5), read back with FC1 (§6.1). */
  'output.on': z.strictObject({}),
  'output.off': z.strictObject({}),
  /** ON for `ms`, then OFF: answered `accepted` once ON, final once OFF again. */
  'output.pulse': z.strictObject({ ms: z.number().int().min(50).max(600_000) }),
  /** Sirens only: the same coil as output.on / output.off. */
  'siren.on': z.strictObject({}),
  'siren.off': z.strictObject({}),
} as const;
export type IoCommands = typeof IO_COMMANDS;

interface ModuleState {
  cfg: IoModule;
  model: IoModel;
  label: string;
  inputs: IoInput[];
  outputs: IoOutput[];
  tracks: Map<string, InputTrack>;
  /** Output state last reported, per output device id. */
  coils: Map<string, boolean>;
  /** The latest read: monotonic time and its failure, if it failed. */
  last?: { at: number; error?: Error };
  failures: number;
}

interface Pulse {
  device: IoDevice;
  timer: { cancel(): void };
  resolve(r: CommandResult): void;
}

export class IoModuleDriver implements DriverInstance<IoDevice, IoCommands> {
  private readonly bus: ModbusBus;
  private readonly modules = new Map<string, ModuleState>();
  private readonly pulses = new Map<string, Pulse>();

  readonly commands = {
    'output.on': (d: IoDevice) => this.set(d, true, 'output.on'),
    'output.off': (d: IoDevice) => this.set(d, false, 'output.off'),
    'siren.on': (d: IoDevice) => this.set(d, true, 'siren.on'),
    'siren.off': (d: IoDevice) => this.set(d, false, 'siren.off'),
    'output.pulse': (d: IoDevice, a: { ms: number }) => this.pulse(d, a.ms),
  };

  constructor(
    private readonly cfg: IoModuleConfig,
    private readonly ctx: DriverContext,
  ) {
    for (const m of cfg.modules) {
      const model = modelOf(cfg, m.model);
      if (!model) throw new Error(`module ${m.id}: unknown model "${m.model}"`); // the schema refuses it first
      this.modules.set(m.id, {
        cfg: m,
        model,
        label: `module ${m.id} (unit ${m.unitId})`,
        inputs: cfg.inputs.filter((i) => i.module === m.id),
        outputs: cfg.outputs.filter((o) => o.module === m.id),
        tracks: new Map(cfg.inputs.filter((i) => i.module === m.id).map((i) => [i.id, newTrack()])),
        coils: new Map(),
        failures: 0,
      });
    }
    this.bus = openPolledBus(cfg, ctx);
  }

  /** Starts in the background: resolves at once even when no module answers. */
  async start(): Promise<void> {
    this.bus.start();
  }

  /** A pulse under way ends now (its output switched off), not with the output left on. */
  async stop(): Promise<void> {
    for (const [id, p] of [...this.pulses]) {
      this.pulses.delete(id);
      p.timer.cancel();
      p.resolve(await this.write(p.device, false));
    }
    await this.bus.close();
  }

  /** Reads the device's module unless it was read (or failed) earlier in this cycle. */
  async poll(d: IoDevice): Promise<void> {
    const m = this.moduleOf(d);
    const last = m.last;
    if (last && this.ctx.clock.elapsed() - last.at < this.cfg.pollIntervalMs / 2) {
      if (last.error) throw last.error;
      return;
    }
    await this.read(m);
  }

  /** One request per block of the module's model, for all its points. */
  private async read(m: ModuleState): Promise<void> {
    let blocks;
    try {
      blocks = await readBlocks(this.bus, m.cfg.unitId, m.model);
    } catch (err) {
      const e = toModbusError(err, m.label);
      const message = `${m.label}: ${e.message}`; // the reason its devices go offline with
      const failure = isBusFault(e) ? new LinkDown(message) : new ModbusError(e.code, message, e.exceptionCode, { cause: e });
      m.last = { at: this.ctx.clock.elapsed(), error: failure };
      m.failures += 1;
      if (m.failures >= this.cfg.offlineAfterFailures) {
        for (const d of [...m.inputs, ...m.outputs]) this.ctx.availability(d.id, false, failure.message);
      }
      throw failure;
    }
    const now = this.ctx.clock.elapsed();
    const receivedAt = new Date(this.ctx.clock.now());
    m.last = { at: now };
    m.failures = 0;
    const points = [...m.inputs, ...m.outputs];
    for (const d of points) this.ctx.seen(d.id); // the module answered for all of them
    let values: FieldValues;
    try {
      values = readFields(m.model, blocks);
    } catch (err) {
      if (!(err instanceof InvalidRegisters)) throw err;
      for (const d of points) this.ctx.invalid(d.id, `${m.label}: ${err.message}`, blocks);
      return;
    }
    for (const i of m.inputs) {
      const track = m.tracks.get(i.id) ?? newTrack();
      const first = track.reported === undefined;
      const active = values[`di${i.input}`] !== i.activeLow;
      const value = debounce(track, active, now, this.cfg.debounceMs);
      if (value !== undefined) this.reportInput(m, i, value, first, receivedAt);
    }
    m.outputs.forEach((o) => this.reportOutput(m, o, values[`do${o.output}`] === true, receivedAt));
  }

  private reportInput(m: ModuleState, i: IoInput, active: boolean, first: boolean, receivedAt: Date): void {
    const where = { module: m.cfg.id, input: i.input };
    if (i.role === 'input') return this.emit(i.id, 'input.changed', { ...where, value: active }, receivedAt);
    if (i.role === 'contact') return this.emit(i.id, active ? 'contact.open' : 'contact.closed', where, receivedAt);
    if (first && !active) return; // a button at rest when first read: nothing happened
    this.emit(i.id, active ? 'button.pressed' : 'button.released', where, receivedAt);
  }

  private reportOutput(m: ModuleState, o: IoOutput, on: boolean, receivedAt: Date): void {
    if (m.coils.get(o.id) === on) return;
    m.coils.set(o.id, on);
    this.emit(o.id, 'output.state', { module: m.cfg.id, output: o.output, on }, receivedAt);
  }

  private emit(deviceId: string, type: keyof typeof IO_EVENTS, data: Record<string, unknown>, receivedAt: Date): void {
    const { kind } = IO_EVENTS[type];
    this.ctx.emit({ deviceId, type, kind, severity: type === 'button.pressed' ? 'critical' : 'info', data, receivedAt });
  }

  private async set(d: IoDevice, on: boolean, command: string): Promise<CommandResult> {
    this.endPulse(d.id, command);
    return this.write(d, on);
  }

  private async pulse(d: IoDevice, ms: number): Promise<CommandOutcome> {
    this.endPulse(d.id, 'output.pulse');
    const on = await this.write(d, true);
    if (!on.ok) return on;
    let resolve!: (r: CommandResult) => void;
    const done = new Promise<CommandResult>((r) => (resolve = r));
    const timer = this.ctx.clock.after(ms, () => {
      this.pulses.delete(d.id);
      void this.write(d, false).then(resolve);
    });
    this.pulses.set(d.id, { device: d, timer, resolve });
    return { accepted: true, data: { on: true }, done };
  }

  /** A pulse still running ends early: its final result says why, the coil stays as the new command leaves it. */
  private endPulse(id: string, by: string): void {
    const p = this.pulses.get(id);
    if (!p) return;
    this.pulses.delete(id);
    p.timer.cancel();
    p.resolve({ ok: true, data: { cutShortBy: by } });
  }

  /** Writes the coil (FC5), reads it back (FC1): the result is what the module says. Never throws. */
  private async write(d: IoDevice, on: boolean): Promise<CommandResult> {
    if (!('output' in d)) return { ok: false, error: `${d.id} is an input; only outputs switch` };
    const m = this.moduleOf(d);
    const coil = m.model.coils[`do${d.output}`]!.address; // the schema checked that the output exists
    const state = (v: boolean) => (v ? 'ON' : 'OFF');
    try {
      await this.bus.writeCoil(m.cfg.unitId, coil, on, 'high');
      const [now = false] = await this.bus.readCoils(m.cfg.unitId, coil, 1, 'high');
      this.reportOutput(m, d, now, new Date(this.ctx.clock.now()));
      if (now !== on) {
        return {
          ok: false,
          error: `${d.id}: output ${d.output} of ${m.label} reads ${state(now)} after writing ${state(on)}: it did not switch (stuck relay, or the module is in manual mode); check the module`,
        };
      }
      return { ok: true, data: { on } };
    } catch (err) {
      return { ok: false, error: `${d.id}: output ${d.output} of ${m.label}: ${errorMessage(err)}` };
    }
  }

  private moduleOf(d: IoDevice): ModuleState {
    const m = this.modules.get(d.module);
    if (!m) throw new Error(`${d.id}: no module "${d.module}"`); // the schema refuses it first
    return m;
  }
}
