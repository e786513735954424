/**
 * The driver host: runs every enabled driver instance of the site under its supervisor and owns
 * what every family needs, so that a family folder holds only what is the family's: one
 * `DriverContext` per launch (events checked against the family's event specs, availability and
 * liveness, refused-input counters, the durable store, the listener and subscriptions), the poll
 * schedule, and the one command path.
 */
import type Database from 'better-sqlite3';
import { z } from 'zod';
import { type Clock, localTimeZone, systemClock } from '../core/clock.js';
import type { CommandResult, Execute } from '../core/command-result.js';
import type { DeviceEvent } from '../core/envelope.js';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import { DeviceSubscriptions } from './device-subscriptions.js';
import {
  type AnyFamily,
  type CommandOutcome,
  type DeviceBase,
  type DriverConfig,
  type DriverContext,
  type DriverInstance,
  type DriverStore,
  PollConfig,
  type SiteLocation,
} from './driver-api.js';
import { createDriverHttp } from './driver-http.js';
import type { FileStore } from './driver-files.js';
import { driverStore } from './driver-store.js';
import type { Inventory } from './inventory.js';
import { Liveness } from './liveness.js';
import { PollScheduler } from './poll-scheduler.js';
import { refusalCounter, type RefusedFn } from './refusals.js';
import { DriverSupervisor, type Runnable } from './supervisor.js';

export interface DriverHostOptions {
  families: readonly AnyFamily[];
  drivers: readonly DriverConfig[];
  inventory: Inventory;
  ingest(e: DeviceEvent): void;
  busy(): boolean;
  /** The journal's database: driver state lives next to the events. */
  db: Database.Database;
  /** Where driver files (pictures, snapshots) go, within one size budget. */
  files: FileStore;
  metrics: Metrics;
  log: Logger;
  clock?: Clock;
  /** The site's id, location and time zone, given to every driver. */
  site?: SiteLocation;
  /** Observers of what the host counts and logs (tests, diagnostics). */
  hooks?: {
    pollError?(deviceId: string, reason: string): void;
    invalid?(deviceId: string, reason: string, raw?: unknown): void;
  };
  /** Restart delays of a failing instance (default 1 s doubling to 60 s) and the jitter source (tests). */
  restartBackoff?: { initialMs: number; maxMs: number };
  random?: () => number;
}

/** One launch of an instance: the instance and what it holds. */
interface Launch extends Runnable {
  readonly instance: DriverInstance;
}

/** What the host keeps per driver instance across launches. */
interface Slot {
  config: DriverConfig;
  family: AnyFamily;
  log: Logger;
  store: DriverStore;
  refused: RefusedFn;
  devices: ReadonlySet<string>;
  livenessMs?: number;
  supervisor: DriverSupervisor<Launch>;
}

const PollSettingsSchema = z.object(PollConfig);

const issuesText = (e: z.ZodError) =>
  e.issues.map((i) => `${i.path.join('.') || 'args'}: ${i.message}`).join('; ');

export class DriverHost {
  readonly onDevicePublish: DeviceSubscriptions['onDevicePublish'];
  private readonly clock: Clock;
  private readonly byFamily: Map<string, AnyFamily>;
  private readonly slots = new Map<string, Slot>();
  private readonly liveness: Liveness;
  private readonly subscriptions: DeviceSubscriptions;
  private closing?: Promise<void>;

  constructor(private readonly o: DriverHostOptions) {
    this.clock = o.clock ?? systemClock;
    this.byFamily = new Map(o.families.map((f) => [f.family, f]));
    this.subscriptions = new DeviceSubscriptions({ log: o.log.child({ component: 'device-subscriptions' }) });
    this.onDevicePublish = this.subscriptions.onDevicePublish;
    this.liveness = new Liveness({
      ingest: o.ingest,
      metrics: o.metrics,
      clock: this.clock,
      onChange: (deviceId, online, reason) => {
        if (online) o.log.info({ device: deviceId }, 'device online');
        else o.log.warn({ device: deviceId, reason }, 'device offline');
      },
    });
    for (const config of o.drivers) {
      if (!config.enabled) continue;
      const family = this.byFamily.get(config.family);
      if (!family) throw new Error(`no device family "${config.family}" (driver ${config.id})`);
      const log = o.log.child({ driver: config.id, family: config.family });
      const slot: Slot = {
        config,
        family,
        log,
        store: driverStore(o.db, config.id, () => this.clock.now()),
        refused: refusalCounter({ driver: config.id, family: config.family, metrics: o.metrics, log }),
        devices: new Set(config.devices.map((d) => d.id)),
        livenessMs: config.livenessTimeoutMs ?? family.livenessTimeoutMs,
        supervisor: undefined as unknown as DriverSupervisor<Launch>,
      };
      slot.supervisor = new DriverSupervisor<Launch>({
        id: config.id,
        family: config.family,
        create: () => this.launch(slot),
        log,
        clock: this.clock,
        onRestart: () => o.metrics.driverRestarts.inc({ driver: config.id }),
        backoff: { ...(o.restartBackoff ?? { initialMs: 1000, maxMs: 60_000 }), random: o.random },
      });
      this.slots.set(config.id, slot);
    }
  }

  /** Starts every enabled driver instance under its supervisor; returns at once. */
  start(): void {
    if (this.closing) return;
    for (const s of this.slots.values()) s.supervisor.start();
  }

  /** Stops every instance with all it holds; idempotent. */
  close(): Promise<void> {
    this.closing ??= Promise.all([...this.slots.values()].map((s) => s.supervisor.stop())).then(() => {});
    return this.closing;
  }

  status(): { id: string; family: string; state: string; lastError?: string }[] {
    return [...this.slots.values()].map(({ supervisor: s }) => ({
      id: s.id,
      family: s.family,
      state: s.state,
      ...(s.lastError !== undefined ? { lastError: s.lastError } : {}),
    }));
  }

  /** The one command path: device, command (per model), arguments, then the family's handler. */
  readonly execute: Execute = async (deviceId, name, args, opts) => {
    try {
      return await this.run(deviceId, name, args, opts?.onAccepted);
    } catch (err) {
      return { ok: false, error: errorMessage(err) };
    }
  };

  private async run(
    deviceId: string,
    name: string,
    args: unknown,
    onAccepted: ((data?: Record<string, unknown>) => void) | undefined,
  ): Promise<CommandResult> {
    const config = this.o.inventory.driverOf(deviceId);
    const device = this.o.inventory.deviceConfig(deviceId);
    if (!config || !device) return { ok: false, error: `unknown device "${deviceId}"` };
    const family = this.byFamily.get(config.family);
    if (!family) return { ok: false, error: `no device family "${config.family}" for device "${deviceId}"` };
    const known = Object.keys(family.commands);
    if (!Object.hasOwn(family.commands, name)) {
      return {
        ok: false,
        error: `a ${family.family} has no command "${name}" (commands: ${known.join(', ') || 'none'})`,
      };
    }
    const accepts = family.commandsFor ? [...family.commandsFor(device)] : known;
    if (!accepts.includes(name)) {
      const model = (device as { model?: unknown }).model;
      const what = typeof model === 'string' ? `model ${model}` : 'this device';
      return {
        ok: false,
        error: `${deviceId} (${what}) does not accept "${name}"; it accepts: ${accepts.join(', ') || 'no commands'}`,
      };
    }
    const parsed = (family.commands[name] as z.ZodType).safeParse(args ?? {});
    if (!parsed.success) return { ok: false, error: `bad arguments for ${name}: ${issuesText(parsed.error)}` };
    if (!config.enabled) return { ok: false, error: `driver ${config.id} is disabled` };
    const slot = this.slots.get(config.id);
    const launch = slot?.supervisor.running;
    if (!slot || !launch) {
      return { ok: false, error: `driver ${config.id} is not running (${slot?.supervisor.state ?? 'stopped'})` };
    }
    const handler = launch.instance.commands[name] as
      | ((d: DeviceBase, a: unknown) => Promise<CommandOutcome>)
      | undefined;
    if (!handler) return { ok: false, error: `driver ${config.id} has no handler for "${name}"` };
    const out = await handler.call(launch.instance.commands, device, parsed.data);
    if ('accepted' in out) {
      onAccepted?.(out.data);
      return await out.done;
    }
    return out;
  }

  /** Builds one launch: a fresh context, listener, subscriptions and instance. */
  private launch(slot: Slot): Launch {
    const { config, family, log } = slot;
    const http = createDriverHttp({
      driver: config.id,
      listen: (config as { listen?: { host: string; port: number } }).listen,
      refused: slot.refused,
      log,
    });
    const subs = this.subscriptions.forDriver(
      config.id,
      (config as { mqtt?: Parameters<DeviceSubscriptions['forDriver']>[1] }).mqtt,
      slot.refused,
    );
    let active = true; // a stopped launch reports nothing more
    let scheduler: PollScheduler<DeviceBase> | undefined;
    const ctx: DriverContext = {
      log,
      site: this.o.site ?? { id: 'site', timezone: localTimeZone() },
      clock: this.clock,
      store: slot.store,
      files: this.o.files.forDriver(config.id),
      http,
      emit: (e) => {
        if (active) this.emit(slot, e);
      },
      seen: (id) => {
        if (active && this.own(slot, id, 'seen')) this.liveness.seen(id, family.family, slot.livenessMs);
      },
      availability: (id, online, reason) => {
        if (active && this.own(slot, id, 'availability')) this.availability(slot, id, online, reason);
      },
      invalid: (id, reason, raw) => this.invalid(slot, id, reason, raw),
      refused: slot.refused,
      subscribe: subs.subscribe,
      pollNow: () => scheduler?.pollNow(),
      busy: this.o.busy,
    };
    const instance = family.create(config, ctx) as DriverInstance;
    const stop = async () => {
      active = false;
      scheduler?.stop();
      this.liveness.disarm(slot.devices);
      await quietly(log, 'driver stop', () => instance.stop?.());
      await quietly(log, 'subscriptions close', () => subs.close());
      await quietly(log, 'listener close', () => http.close());
    };
    return {
      instance,
      onFatal: instance.onFatal && ((listener) => instance.onFatal?.(listener)),
      start: async () => {
        await http.start();
        await instance.start?.();
        await subs.start();
        if (!active) return;
        if (slot.livenessMs !== undefined) {
          for (const id of slot.devices) this.liveness.arm(id, family.family, slot.livenessMs);
        }
        if (instance.poll) {
          scheduler = this.scheduler(slot, instance, () => active);
          scheduler.start();
        }
      },
      stop,
    };
  }

  private scheduler(slot: Slot, instance: DriverInstance, active: () => boolean): PollScheduler<DeviceBase> {
    const { config, family, log } = slot;
    const poll = instance.poll!.bind(instance);
    return new PollScheduler<DeviceBase>({
      devices: config.devices,
      settings: PollSettingsSchema.parse(config),
      poll,
      succeeded: (d) => {
        if (active()) this.liveness.seen(d.id, family.family, slot.livenessMs);
      },
      failed: (d, reason) => {
        this.o.metrics.pollErrors.inc({ driver: config.id });
        log.debug({ device: d.id, reason }, 'poll failed');
        this.o.hooks?.pollError?.(d.id, reason);
      },
      offline: (d, reason) => {
        if (active()) this.availability(slot, d.id, false, reason);
      },
      busy: this.o.busy,
      clock: this.clock,
      random: this.o.random,
    });
  }

  private own(slot: Slot, deviceId: string, what: string): boolean {
    if (slot.devices.has(deviceId)) return true;
    slot.log.warn({ device: deviceId }, `${what} for a device that is not this driver's; ignored`);
    return false;
  }

  private availability(slot: Slot, deviceId: string, online: boolean, reason?: string): void {
    if (online) this.liveness.seen(deviceId, slot.family.family, slot.livenessMs);
    else this.liveness.report(deviceId, slot.family.family, false, reason);
  }

  /** Checks an event against the family's spec: only a valid event of one of its devices is ingested. */
  private emit(slot: Slot, e: DeviceEvent): void {
    if (!slot.devices.has(e.deviceId)) {
      return this.invalid(slot, e.deviceId, `not a device of driver ${slot.config.id}`, e);
    }
    const spec = slot.family.events[e.type];
    if (!spec || !Object.hasOwn(slot.family.events, e.type)) {
      const known = Object.keys(slot.family.events).join(', ') || 'none';
      return this.invalid(slot, e.deviceId, `unknown event type "${e.type}" (a ${slot.family.family} emits: ${known})`, e);
    }
    if (e.kind !== spec.kind) {
      return this.invalid(slot, e.deviceId, `${e.type} is ${spec.kind}, reported as ${e.kind}`, e);
    }
    const data = spec.data.safeParse(e.data);
    if (!data.success) {
      return this.invalid(slot, e.deviceId, `bad data for ${e.type}: ${issuesText(data.error)}`, e.data);
    }
    this.liveness.seen(e.deviceId, slot.family.family, slot.livenessMs);
    this.o.ingest(e);
  }

  private invalid(slot: Slot, deviceId: string, reason: string, raw?: unknown): void {
    this.o.metrics.invalidInputs.inc({ family: slot.family.family });
    slot.log.warn({ device: deviceId, reason, raw }, 'invalid device data');
    this.o.hooks?.invalid?.(deviceId, reason, raw);
  }
}

async function quietly(log: Logger, what: string, fn: () => Promise<unknown> | unknown): Promise<void> {
  try {
    await fn();
  } catch (err) {
    log.warn({ err: errorMessage(err) }, `${what} failed`);
  }
}
