/**
 * E-bike pile driver: one Modbus bus and the piles on it. `poll` reads a pile's blocks (one
 * request each) and emits what changed per port; commands switch port relays (FC5, Modbus
 * Application Protocol V1.1b3 §6.5) and write a port's overcurrent limit (FC6, §6.6), each read
 * back. While the bus is down a poll fails with `LinkDown`; the bus coming back polls at once.
 */
import { z } from 'zod';
import type { CommandResult, DriverContext, DriverInstance } from '../../gateway/devices/driver-api.js';
import type { ModbusBus } from '../modbus/modbus-bus.js';
import { openPolledBus, readDevice } from '../modbus/polled-bus.js';
import { InvalidRegisters, readFields } from '../modbus/register-map.js';
import { portsOf } from './models.js';
import { normalisePort, type PortMemory, portReadings } from './normalise.js';
import type { EbikePileConfig, EbikePileDevice } from './schema.js';

const Port = z.number().int().min(1);
export const EBIKE_COMMANDS = {
  /** Switch a port's relay off (coil OFF). */
  'port.cut': z.strictObject({ port: Port }),
  /** Switch a port's relay back on (coil ON); the pile clears its latched fault. */
  'port.restore': z.strictObject({ port: Port }),
  /** Switch every port's relay off. */
  'pile.cut-all': z.strictObject({}),
  /** Write a port's overcurrent limit (A) to its holding register. */
  'port.set-limit': z.strictObject({ port: Port, amps: z.number().min(0).max(100) }),
} as const;
export type EbikeCommands = typeof EBIKE_COMMANDS;

const fail = (error: string): CommandResult => ({ ok: false, error });

export class EbikePileDriver implements DriverInstance<EbikePileDevice, EbikeCommands> {
  private readonly bus: ModbusBus;
  private readonly memory = new Map<string, PortMemory>();

  readonly commands = {
    'port.cut': (d: EbikePileDevice, a: { port: number }) => this.relay(d, [a.port], false),
    'port.restore': (d: EbikePileDevice, a: { port: number }) => this.relay(d, [a.port], true),
    'pile.cut-all': (d: EbikePileDevice) => this.relay(d, portsOf(d.map), false),
    'port.set-limit': (d: EbikePileDevice, a: { port: number; amps: number }) => this.setLimit(d, a.port, a.amps),
  };

  constructor(
    private readonly cfg: EbikePileConfig,
    private readonly ctx: DriverContext,
  ) {
    this.bus = openPolledBus(cfg, ctx);
  }

  async start(): Promise<void> {
    this.bus.start();
  }

  async stop(): Promise<void> {
    await this.bus.close();
  }

  async poll(d: EbikePileDevice): Promise<void> {
    const blocks = await readDevice(this.bus, d.unitId, d.map);
    const now = new Date(this.ctx.clock.now());
    let readings;
    try {
      readings = portReadings(readFields(d.map, blocks), portsOf(d.map));
    } catch (err) {
      if (err instanceof InvalidRegisters) return this.ctx.invalid(d.id, err.message, blocks);
      throw err;
    }
    if (typeof readings === 'string') return this.ctx.invalid(d.id, readings, blocks);
    const policy = { deviceId: d.id, reportIntervalMs: this.cfg.reportIntervalMs, overtemperatureC: this.cfg.overtemperatureC, faultCodes: this.cfg.faultCodes };
    for (const r of readings) {
      const key = `session/${d.id}/${r.port}`;
      // A session running when the gateway stopped goes on: its start meter is in the store.
      const prev = this.memory.get(key) ?? this.stored(key);
      const { memory, events } = normalisePort(prev, r, now, policy);
      this.memory.set(key, memory);
      if (memory.sessionStartWh !== prev?.sessionStartWh) {
        if (memory.sessionStartWh === undefined) this.ctx.store.delete(key);
        else this.ctx.store.set(key, memory.sessionStartWh);
      }
      for (const e of events) this.ctx.emit(e);
    }
  }

  private stored(key: string): PortMemory | undefined {
    const startWh = this.ctx.store.get<number>(key);
    return typeof startWh === 'number' ? { reportedAt: 0, alarms: [], sessionStartWh: startWh } : undefined;
  }

  private unknownPort(d: EbikePileDevice, port: number): CommandResult | undefined {
    const ports = portsOf(d.map);
    return ports.includes(port) ? undefined : fail(`${d.id} (model ${d.model}) has no port ${port}; its ports are ${ports[0]}..${ports.at(-1)}`);
  }

  private async relay(d: EbikePileDevice, ports: number[], on: boolean): Promise<CommandResult> {
    for (const port of ports) {
      const bad = this.unknownPort(d, port);
      if (bad) return bad;
    }
    const wrong: number[] = [];
    for (const port of ports) {
      const coil = d.map.coils[`port${port}-relay`]!.address;
      await this.bus.writeCoil(d.unitId, coil, on, 'high');
      // Read back (FC1): the result is what the pile says, not what was asked.
      const [now] = await this.bus.readCoils(d.unitId, coil, 1, 'high');
      if (now !== on) wrong.push(port);
    }
    if (wrong.length > 0) return fail(`relay of port ${wrong.join(', ')} reads ${on ? 'off' : 'on'} after the write`);
    return { ok: true, data: { ports, relayOn: on } };
  }

  private async setLimit(d: EbikePileDevice, port: number, amps: number): Promise<CommandResult> {
    const bad = this.unknownPort(d, port);
    if (bad) return bad;
    const f = d.map.fields[`port${port}-limit`]!;
    const block = d.map.blocks[f.block]!;
    if (block.table !== 'holding' || (f.type !== 'uint16' && f.type !== 'int16')) {
      return fail(`model ${d.model}: port${port}-limit is not a one-register holding field, so it cannot be written (FC6)`);
    }
    const raw = Math.round((amps - f.valueOffset) / f.scale);
    if (raw < (f.type === 'int16' ? -0x8000 : 0) || raw > (f.type === 'int16' ? 0x7fff : 0xffff)) {
      return fail(`${amps} A does not fit port${port}-limit (${f.type}, scale ${f.scale})`);
    }
    const address = block.start + f.offset;
    await this.bus.writeRegister(d.unitId, address, raw & 0xffff, 'high');
    const [back] = await this.bus.readHolding(d.unitId, address, 1, 'high');
    if (back !== (raw & 0xffff)) return fail(`limit of port ${port} reads raw ${back} after writing ${raw}`);
    return { ok: true, data: { port, amps: raw * f.scale + f.valueOffset } };
  }
}
