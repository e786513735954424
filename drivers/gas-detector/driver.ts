/**
 * Gas-detector driver: polls every detector of one Modbus bus, normalises the readings, and
 * drives the gas valve relay.
 *
 * - One poll cycle every pollIntervalMs reads each due detector once, one after the other
 *   through the bus queue (commands jump ahead of waiting polls).
 * - A detector failing offlineAfterFailures polls in a row is reported offline and then only
 *   tried once per backoff period (exponential, with jitter), so a dead detector costs the
 *   others at most one timeout per backoff period. One good answer brings it back online.
 * - While the bus itself is down (connection lost) nothing is sent; detectors still count
 *   failures and go offline, but get no backoff: they are polled as soon as the bus is back.
 */
import { z } from 'zod';
import { errorMessage } from '../../gateway/core/errors.js';
import type { CommandResult, DriverContext, DriverInstance } from '../../gateway/devices/driver-api.js';
import { Backoff } from '../../gateway/core/backoff.js';
import { ModbusBus } from '../modbus/modbus-bus.js';
import { isBusFault, toModbusError } from '../modbus/modbus-errors.js';
import { type GasRegisterMap, MODELS } from './models.js';
import { type GasState, normalise, type ReportPolicy } from './normalise.js';
import type { GasDetectorConfig, GasDetectorDevice } from './schema.js';

export const GAS_COMMANDS = {
  /** Close the gas valve: coil ON (FC5 Write Single Coil, Modbus Application Protocol V1.1b3 §6.5). */
  'valve.close': z.object({}),
  /** Open the gas valve: coil OFF. */
  'valve.open': z.object({}),
} as const;

interface Detector {
  cfg: GasDetectorDevice;
  map: GasRegisterMap;
  policy: ReportPolicy;
  state?: GasState;
  online?: boolean;
  failures: number;
  backoff: Backoff;
  /** Epoch ms before which the detector is not polled (offline backoff); 0 = every cycle. */
  retryAt: number;
}

export class GasDetectorDriver implements DriverInstance {
  private readonly bus: ModbusBus;
  private readonly detectors: Detector[];
  private readonly byId: Map<string, Detector>;
  private timer?: NodeJS.Timeout;
  private cycling = false;
  private running = false;

  constructor(
    private readonly cfg: GasDetectorConfig,
    private readonly ctx: DriverContext,
  ) {
    this.bus = new ModbusBus({
      transport: cfg.transport,
      timeoutMs: cfg.timeoutMs,
      backoff: cfg.backoff,
      log: ctx.log,
    });
    this.detectors = cfg.devices.map((d) => ({
      cfg: d,
      map: MODELS[d.model],
      policy: { deviceId: d.id, lelDeadband: cfg.lelDeadband, reportIntervalMs: cfg.reportIntervalMs },
      failures: 0,
      backoff: new Backoff(cfg.backoff),
      retryAt: 0,
    }));
    this.byId = new Map(this.detectors.map((d) => [d.cfg.id, d]));
    // Poll at once when the bus (re)connects rather than waiting for the next tick.
    this.bus.on('connected', () => {
      if (this.running && !this.cycling) this.schedule(0);
    });
  }

  /** Starts in the background: resolves at once even when no device answers. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.bus.start();
    this.schedule(this.cfg.pollIntervalMs);
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.bus.close();
  }

  async command(deviceId: string, name: string, args: unknown): Promise<CommandResult> {
    const d = this.byId.get(deviceId);
    if (!d) return { ok: false, error: `unknown device "${deviceId}" on driver ${this.cfg.id}` };
    if (!Object.hasOwn(GAS_COMMANDS, name)) {
      return {
        ok: false,
        error: `unknown command "${name}"; known: ${Object.keys(GAS_COMMANDS).join(', ')}`,
      };
    }
    const parsed = GAS_COMMANDS[name as keyof typeof GAS_COMMANDS].safeParse(args ?? {});
    if (!parsed.success) return { ok: false, error: `invalid arguments: ${parsed.error.issues[0]?.message}` };
    const coil = d.map.valveCoil;
    if (coil === null) return { ok: false, error: `model ${d.cfg.model} has no valve relay` };
    if (!this.running) return { ok: false, error: 'driver is not running' };
    const close = name === 'valve.close';
    try {
      await this.bus.writeCoil(d.cfg.unitId, coil, close, 'high');
      // Read the relay back (FC1 Read Coils, §6.1): the result is what the device says, not what we asked.
      const [closed] = await this.bus.readCoils(d.cfg.unitId, coil, 1, 'high');
      if (closed !== close)
        return { ok: false, error: `valve relay reads ${closed ? 'closed' : 'open'} after the write` };
      return { ok: true, data: { valveClosed: closed } };
    } catch (err) {
      return { ok: false, error: errorMessage(err) };
    }
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.cycle(), delayMs);
  }

  private async cycle(): Promise<void> {
    this.timer = undefined;
    if (!this.running || this.cycling) return;
    this.cycling = true;
    const started = Date.now();
    try {
      for (const d of this.detectors) {
        if (!this.running) return;
        if (Date.now() >= d.retryAt) await this.poll(d);
      }
    } finally {
      this.cycling = false;
      // While the gateway is behind, poll half as often: alarms still come, telemetry waits less.
      const interval = this.cfg.pollIntervalMs * (this.ctx.busy() ? 2 : 1);
      if (this.running && !this.timer) this.schedule(Math.max(0, interval - (Date.now() - started)));
    }
  }

  private async poll(d: Detector): Promise<void> {
    const { unitId } = d.cfg;
    const { table, start, length } = d.map;
    let words: number[];
    try {
      // FC3 Read Holding Registers / FC4 Read Input Registers (Modbus Application Protocol V1.1b3 §6.3, §6.4)
      words =
        table === 'holding'
          ? await this.bus.readHolding(unitId, start, length)
          : await this.bus.readInput(unitId, start, length);
    } catch (err) {
      if (this.running) this.failed(d, err);
      return;
    }
    const receivedAt = new Date(); // the continuation runs as the response is delivered
    if (!this.running) return;
    this.succeeded(d);
    const result = normalise(d.state, words, d.map, receivedAt, d.policy);
    if (!result.ok) {
      this.ctx.invalid(d.cfg.id, result.reason, words);
      return;
    }
    d.state = result.state;
    for (const e of result.events) this.ctx.emit(e);
  }

  private succeeded(d: Detector): void {
    d.failures = 0;
    d.retryAt = 0;
    d.backoff.reset();
    if (d.online !== true) {
      if (d.online === false)
        this.ctx.log.info({ device: d.cfg.id, unitId: d.cfg.unitId }, 'gas detector back online');
      d.online = true;
      this.ctx.availability(d.cfg.id, true);
    }
  }

  private failed(d: Detector, err: unknown): void {
    const e = toModbusError(err, `unit ${d.cfg.unitId}`);
    d.failures += 1;
    this.ctx.pollError(d.cfg.id, e.message);
    if (d.failures < this.cfg.offlineAfterFailures) return;
    if (d.online !== false) {
      d.online = false;
      this.ctx.log.warn(
        { device: d.cfg.id, unitId: d.cfg.unitId, reason: e.message },
        'gas detector offline',
      );
      this.ctx.availability(d.cfg.id, false, e.message);
    }
    if (!isBusFault(e)) d.retryAt = Date.now() + d.backoff.next();
  }
}
