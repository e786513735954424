/**
 * Gas-detector driver: one Modbus bus and the detectors on it. `poll` reads one detector's
 * register block and emits what changed; the host runs the schedule (one detector after the
 * other through the bus queue, commands jumping ahead of waiting polls, per-detector backoff).
 * While the bus itself is down nothing is sent: a poll fails with `LinkDown`, and the bus
 * coming back polls at once.
 */
import { z } from 'zod';
import type { DriverContext, DriverInstance } from '../../gateway/devices/driver-api.js';
import type { ModbusBus } from '../modbus/modbus-bus.js';
import { openPolledBus, readDevice } from '../modbus/polled-bus.js';
import { type GasState, normalise } from './normalise.js';
import type { GasDetectorConfig, GasDetectorDevice } from './schema.js';

export const GAS_COMMANDS = {
  /** Close the gas valve: coil ON (FC5 Write Single Coil, Modbus Application Protocol V1.1b3 §6.5). */
  'valve.close': z.object({}),
  /** Open the gas valve: coil OFF. */
  'valve.open': z.object({}),
} as const;
export type GasCommands = typeof GAS_COMMANDS;

export class GasDetectorDriver implements DriverInstance<GasDetectorDevice, GasCommands> {
  private readonly bus: ModbusBus;
  private readonly states = new Map<string, GasState>();

  readonly commands = {
    'valve.close': (d: GasDetectorDevice) => this.valve(d, true),
    'valve.open': (d: GasDetectorDevice) => this.valve(d, false),
  };

  constructor(
    private readonly cfg: GasDetectorConfig,
    private readonly ctx: DriverContext,
  ) {
    this.bus = openPolledBus(cfg, ctx);
  }

  /** Starts in the background: resolves at once even when no device answers. */
  async start(): Promise<void> {
    this.bus.start();
  }

  async stop(): Promise<void> {
    await this.bus.close();
  }

  async poll(d: GasDetectorDevice): Promise<void> {
    const blocks = await readDevice(this.bus, d.unitId, d.map);
    const receivedAt = new Date(this.ctx.clock.now()); // the continuation runs as the response is delivered
    const result = normalise(this.states.get(d.id), blocks, d.map, receivedAt, {
      deviceId: d.id,
      lelDeadband: this.cfg.lelDeadband,
      reportIntervalMs: this.cfg.reportIntervalMs,
    });
    if (!result.ok) {
      this.ctx.invalid(d.id, result.reason, blocks);
      return;
    }
    this.states.set(d.id, result.state);
    for (const e of result.events) this.ctx.emit(e);
  }

  private async valve(d: GasDetectorDevice, close: boolean) {
    const coil = d.map.coils.valve?.address;
    // commandsFor keeps valve commands from a model without a relay; this narrows the type.
    if (coil === undefined) return { ok: false as const, error: `model ${d.model} has no valve relay` };
    await this.bus.writeCoil(d.unitId, coil, close, 'high');
    // Read the relay back (FC1 Read Coils, §6.1): the result is what the device says, not what we asked.
    const [closed] = await this.bus.readCoils(d.unitId, coil, 1, 'high');
    if (closed !== close)
      return { ok: false as const, error: `valve relay reads ${closed ? 'closed' : 'open'} after the write` };
    return { ok: true as const, data: { valveClosed: closed } };
  }
}
