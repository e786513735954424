/**
 * The interface between the core and a device family. A family is data plus a factory: its
 * config schema, its commands with their argument schemas, its event types with their data
 * schemas, whether its devices are life-safety devices, its built-in alarm rules, and `create`.
 *
 * A driver instance reaches the core only through its `DriverContext`. The driver host (one per
 * gateway) owns what every family needs and none should write again: availability and liveness,
 * the poll schedule with its backoff, command routing with arguments already parsed, listening
 * endpoints for devices that push, subscriptions on the local broker, a small durable store, and
 * counters of refused input.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { WebSocket } from 'ws';
import { z } from 'zod';
import type { Clock } from '../core/clock.js';
import type { CommandResult } from '../core/command-result.js';
import type { DeviceEvent, EventSpec, Severity } from '../core/envelope.js';
import type { Logger } from '../core/logger.js';
import type { ActionInput, RuleInput } from '../core/rule-schema.js';

export type { CommandResult } from '../core/command-result.js';
export type { DeviceEvent, EventKind, EventSpec, Severity } from '../core/envelope.js';
export type { ActionInput, RuleInput } from '../core/rule-schema.js';
export { Watches } from '../core/watches.js';
/**
 * Device sign-in with the gateway's password hashes (`gateway hash-password`), for families whose
 * devices log in to the gateway (e.g. OCPP charge points): parse a hash from the site file, check a
 * password without blocking the event loop, and a decoy hash to check for unknown ids.
 */
export { decoyHash, type ParsedHash, parsePasswordHash, verifyPasswordAsync } from '../auth/password.js';
// Families import nothing else of the core: what they need is re-exported here.
export { errorMessage } from '../core/errors.js';

const Name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]*$/, 'letters, digits, "-" and "_" only');

/** Fields every device entry carries, whatever its family (used for selectors and the envelope). */
export const DeviceBase = z.object({
  id: Name.describe('device id; it becomes an MQTT topic level'),
  name: z.string().optional(),
  building: z.string().optional(),
  zone: z.string().optional(),
  tags: z.array(z.string()).default([]),
});
export type DeviceBase = z.infer<typeof DeviceBase>;

/** Fields every driver instance carries in the `drivers:` list of the site config. */
export const DriverBase = z.object({
  /** Unique name of this driver instance, e.g. `gas-bus-b3`. */
  id: Name,
  enabled: z.boolean().default(true),
  /**
   * A device not heard from for this long is reported offline (default: the family's; a family
   * of devices that push states one). Applies to polled families too: a successful poll is hearing.
   */
  livenessTimeoutMs: z.number().int().min(1000).optional(),
});

/** What the core knows of any driver instance config; each family's schema adds its own fields. */
export type DriverConfig = z.infer<typeof DriverBase> & { family: string; devices: DeviceBase[] };

/** Config fields of a polled family (spread into its schema): the host's poll schedule reads them. */
export const PollConfig = {
  /** Each device is read once per interval (an offline one less often, see backoff). */
  pollIntervalMs: z.number().int().min(100).default(1000),
  /** Consecutive failed polls before a device is reported offline. */
  offlineAfterFailures: z.number().int().min(1).default(3),
  /** Retry delays of a device that went offline (exponential, with jitter), and of the link. */
  backoff: z
    .strictObject({
      initialMs: z.number().int().min(100).default(2000),
      maxMs: z.number().int().min(100).default(60_000),
    })
    .refine((b) => b.initialMs <= b.maxMs, { message: 'initialMs must not exceed maxMs', path: ['initialMs'] })
    .default({ initialMs: 2000, maxMs: 60_000 }),
};
export type PollSettings = {
  pollIntervalMs: number;
  offlineAfterFailures: number;
  backoff: { initialMs: number; maxMs: number };
};

/**
 * TLS of a driver's listener: it serves HTTPS and WSS (TLS 1.2 at least) with this server
 * certificate, e.g. OCPP 1.6 security profile 2 (TLS server certificate + HTTP Basic). PEM files,
 * read when the driver starts; a path is absolute or relative to the gateway's working directory.
 */
export const ListenTls = z
  .strictObject({
    certFile: z.string().min(1).describe('server certificate (PEM), then any intermediates; its name must be the host name the devices connect to'),
    keyFile: z.string().min(1).describe('its private key (PEM, unencrypted), readable by the gateway only'),
    caFile: z
      .string()
      .min(1)
      .optional()
      .describe('intermediate CA certificates (PEM) sent after the server certificate, when its issuer is not a root the devices trust'),
  })
  .describe('TLS of the listener: HTTPS and WSS, TLS 1.2 at least (absent: plain HTTP and WS); paths absolute or relative to the working directory');
export type ListenTls = z.infer<typeof ListenTls>;

/** Config field of a family whose devices connect to it: where its listener binds, and its TLS. */
export const ListenConfig = {
  listen: z.strictObject({
    host: z.string().default('127.0.0.1'),
    port: z.number().int().min(0).max(65_535),
    tls: ListenTls.optional(),
  }),
};
export type ListenSettings = { host: string; port: number; tls?: ListenTls };

/** Config field of a family whose devices publish to another MQTT broker (e.g. a LoRaWAN network server's). */
export const ExternalBrokerConfig = {
  mqtt: z.strictObject({
    url: z.string().regex(/^(mqtts?|wss?):\/\//, 'mqtt://, mqtts://, ws:// or wss:// URL'),
    username: z.string().optional(),
    /** File holding the password (first line), readable by the gateway only. */
    passwordFile: z.string().optional(),
    clientId: z.string().optional(),
  }),
};

/**
 * Thrown by `poll` when the link to every device of the instance is down (bus unplugged,
 * connection lost): the failure counts, but the device gets no backoff of its own, and is
 * polled again as soon as the driver calls `ctx.pollNow()`.
 */
export class LinkDown extends Error {
  override readonly name = 'LinkDown';
}

/** Durable key-value state of one driver instance (JSON values), kept in the gateway's database. */
export interface DriverStore {
  get<T = unknown>(key: string): T | undefined;
  /** Written and synced before it returns. */
  set(key: string, value: unknown): void;
  delete(key: string): void;
  /** Every entry whose key starts with `prefix`, in key order. */
  entries<T = unknown>(prefix?: string): [string, T][];
}

/** Files of one driver instance (gate pictures, camera snapshots) under the gateway's data folder. */
export interface DriverFiles {
  /**
   * Stores the bytes and returns a reference to put in an event's data (never the bytes). The
   * files of the gateway share one size budget: the oldest are deleted when it is exceeded.
   */
  save(data: Buffer, ext: string): string;
}

export type RouteHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => void | Promise<void>;

/** The driver's own listener (`listen:` in its config): HTTP routes and WebSocket upgrades. */
export interface DriverHttp {
  /** `method` `*` matches any; `path` is exact, or a RegExp tested on the path. */
  route(method: string, path: string | RegExp, handler: RouteHandler): void;
  /** Accepts WebSocket upgrades on `path`; `accept` may refuse by returning a reason (answered 401/403/404). */
  upgrade(
    path: string | RegExp,
    onSocket: (ws: WebSocket, req: IncomingMessage, url: URL) => void,
    accept?: (req: IncomingMessage, url: URL) => string | undefined | Promise<string | undefined>,
  ): void;
  /**
   * Reads a request body up to `maxBytes`; a larger one rejects, is answered 413 and counted
   * as refused (`too-large`).
   */
  body(req: IncomingMessage, maxBytes: number): Promise<Buffer>;
}

/** A message a device published to a broker. */
export interface DeviceMessage {
  topic: string;
  payload: Buffer;
  /** The broker account that published it (local broker: the device's user name). */
  username?: string;
}

export interface SubscribeOptions {
  /** `local` (default): the embedded broker's device accounts (`dev/<username>/#`); `external`: the broker in the driver's `mqtt:` config. */
  broker?: 'local' | 'external';
}

/** What a family's site check may read of the site file's `site:` section. */
export interface SiteFacts {
  readonly id: string;
  readonly latitude?: number;
  readonly longitude?: number;
  readonly timezone?: string;
}

/** Where the site is: for astronomical schedules and local hours. */
export interface SiteLocation {
  readonly id: string;
  readonly latitude?: number;
  readonly longitude?: number;
  /** IANA time zone of the site (e.g. `Asia/Shanghai`); the machine's when the site file names none. */
  readonly timezone: string;
}

export interface DriverContext {
  /** pino child logger bound to this driver instance. */
  readonly log: Logger;
  /** The site this gateway serves (from the site file's `site:`). */
  readonly site: SiteLocation;
  /** Wall and monotonic time, and timers; injectable in tests. */
  readonly clock: Clock;
  /** Durable state of this instance, e.g. the last event serial number fetched. */
  readonly store: DriverStore;
  /** Pictures and snapshots, stored on disk within a size budget and referenced from events. */
  readonly files: DriverFiles;
  /** The listener of this instance; using it without `listen:` in the config throws. */
  readonly http: DriverHttp;
  /** Report a normalised event about one of this driver's devices; it also counts as hearing from it. */
  emit(event: DeviceEvent): void;
  /** The device was heard from (a heartbeat, any message): online, liveness timer restarted. */
  seen(deviceId: string): void;
  /** Report a device going online or offline; repeated identical reports are ignored. */
  availability(deviceId: string, online: boolean, reason?: string): void;
  /** Device data that did not validate: logged with the reason and counted, never turned into an event. */
  invalid(deviceId: string, reason: string, raw?: unknown): void;
  /** Inbound input refused (bad credentials, shape, size, unknown sender): counted per driver and reason. */
  refused(reason: string, detail?: Record<string, unknown>): void;
  /** Receive device messages from a broker; the handler's promise is awaited before the broker acknowledges. */
  subscribe(filter: string, handler: (msg: DeviceMessage) => void | Promise<void>, opts?: SubscribeOptions): void;
  /** Run the poll cycle now (e.g. the link just came back). */
  pollNow(): void;
  /**
   * True while the gateway is behind (telemetry waiting and coalescing): the poll schedule
   * stretches by itself, a push driver answers "busy" where its protocol has a way to say it.
   */
  busy(): boolean;
}

/** A command the device accepted and completes later; `done` settles with the final result. */
export interface Accepted {
  accepted: true;
  data?: Record<string, unknown>;
  done: Promise<CommandResult>;
}
export type CommandOutcome = CommandResult | Accepted;

export type CommandSchemas = Readonly<Record<string, z.ZodType>>;

/** One handler per command, given the device's config entry and its arguments parsed by the command's schema. */
export type CommandHandlers<S extends CommandSchemas, D> = {
  readonly [K in keyof S]: (device: D, args: z.output<S[K]>) => Promise<CommandOutcome>;
};

export interface DriverInstance<D extends DeviceBase = DeviceBase, S extends CommandSchemas = CommandSchemas> {
  /** Resolves once the driver is running; rejects if it cannot start (the host retries with backoff). */
  start?(): Promise<void>;
  /** Stops and closes connections. Must not throw. */
  stop?(): Promise<void>;
  /**
   * Polled families: read one device and emit what it says; reject when it does not answer
   * (throw `LinkDown` when no device can answer). The host calls it on the schedule of the
   * config's `PollConfig` fields, one device after the other.
   */
  poll?(device: D): Promise<void>;
  /** Command handlers; the host has checked the device, the command (per model) and the arguments. */
  readonly commands: CommandHandlers<S, D>;
  /** The driver calls the listener on an unrecoverable fault at run time (the host restarts it with backoff). */
  onFatal?(listener: (err: Error) => void): void;
}

type DeviceOf<C extends DriverConfig> = C['devices'][number];

/** What a family's own `gateway` subcommand may read: the site's instances of the family and their stores. */
export interface FamilyCliContext<C extends DriverConfig = DriverConfig> {
  /** The site file's driver instances of this family, parsed by its config schema. */
  readonly drivers: readonly C[];
  /** The durable store of one driver instance, read from the gateway's database. */
  store(driverId: string): DriverStore;
  /** Wall time, ms. */
  now(): number;
}

/** A `gateway <name> …` subcommand a family provides, e.g. a report over the records its driver stores. */
export interface FamilyCli<C extends DriverConfig = DriverConfig> {
  readonly name: string;
  /** Usage lines for `gateway --help`. */
  readonly usage: string;
  /**
   * Runs it with the words after `gateway <name>` (`--config <file>` taken out); returns the
   * text to print. Bad usage throws an Error saying what is wrong and how to fix it.
   */
  run(args: readonly string[], ctx: FamilyCliContext<C>): string;
}

export interface FamilyDefinition<C extends DriverConfig = DriverConfig, S extends CommandSchemas = CommandSchemas> {
  /** Device family, e.g. `gas-detector`; the `family:` key in the config. */
  readonly family: string;
  /** zod schema of one driver instance config (must include `family: z.literal(family)`). */
  readonly configSchema: z.ZodType<C>;
  /** Commands the devices of this family accept, with their argument schemas. */
  readonly commands: S;
  /** The commands one device accepts, where models differ (default: all). */
  commandsFor?(device: DeviceOf<C>): readonly (keyof S & string)[];
  /** Event types this family emits, each with its lane and data schema. */
  readonly events: Readonly<Record<string, EventSpec>>;
  /** Life-safety devices (detectors, alarm points): one offline for long is an alarm. */
  readonly lifeSafety: boolean;
  /** Default liveness timeout of the family's devices (see `DriverBase.livenessTimeoutMs`). */
  readonly livenessTimeoutMs?: number;
  /** Built-in alarm rules of the family, as data (a site may disable or replace each by id). */
  readonly rules?: readonly RuleInput[];
  /**
   * Linkage this family's devices take on every alarm of at least `minSeverity`, whatever its
   * rule, e.g. cameras with the alarm's devices in view (target scope `watchers`) turn to them
   * and take a snapshot. A rule opts out with `alarmLinkage: false`.
   */
  readonly alarmLinkage?: { readonly minSeverity: Severity; readonly actions: readonly ActionInput[] };
  /**
   * Checks of a driver instance against the rest of the site file, run by `check-config` after
   * the file parses (e.g. sun schedules need the site's latitude and longitude). Each problem has
   * its path inside the driver entry and a message saying how to fix it.
   */
  checkSite?(config: C, site: SiteFacts): readonly { path: readonly (string | number)[]; message: string }[];
  /**
   * A Modbus family on the shared register-map format: its shipped models (register maps) and the
   * key of its driver entry listing the units (each `{ id, unitId, model }`), for the installer's
   * Modbus discovery and doctor.
   */
  readonly modbus?: { readonly models: Readonly<Record<string, unknown>>; readonly unitsKey: 'devices' | 'modules' };
  create(config: C, ctx: DriverContext): DriverInstance<DeviceOf<C>, S>;
  /** A subcommand of the `gateway` command (e.g. a report), run without the gateway. */
  readonly cli?: FamilyCli<C>;
  /** Finding devices of this family on the network: `gateway discover <protocol> …`, run without the gateway. */
  readonly discover?: FamilyDiscover;
}

/** `gateway discover <protocol> …` of a family (e.g. `onvif`: WS-Discovery probes for cameras). */
export interface FamilyDiscover {
  /** The word after `gateway discover`, e.g. `onvif`. */
  readonly protocol: string;
  /** Usage lines for `gateway --help`. */
  readonly usage: string;
  /**
   * Runs it with the words after `gateway discover <protocol>`; returns the text to print (what
   * was found, e.g. as site-file entries). Bad usage rejects with an Error saying how to fix it.
   */
  run(args: readonly string[]): Promise<string>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the registry holds families of every config type
export type AnyFamily = FamilyDefinition<any, any>;

/** One simulated device of the compound simulator, changed through its control API. */
export interface SimulatedDevice {
  id: string;
  family: string;
  state(): Record<string, unknown>;
  /** Applies a change; throws a zod error on a bad one. */
  apply(change: unknown): void | Promise<void>;
}

/** What a family simulator may need of the site beyond its driver entry. */
export interface SimulatorSite {
  /** The embedded broker's first TCP listener, as a client on this machine reaches it (unknown with port 0). */
  brokerUrl?: string;
}

/** How a family's simulator joins the compound simulator: started per driver instance of the site file. */
export interface FamilySimulator {
  /** Example changes, shown when a change is refused; the first `{...}` is the one the demo banner shows. */
  readonly changeHint: string;
  /** Starts simulators for this driver instance; undefined when it drives real devices (e.g. a serial port). */
  start(
    config: DriverConfig,
    log: Logger,
    site?: SimulatorSite,
  ): Promise<{ devices: SimulatedDevice[]; close(): Promise<void> } | undefined>;
}

/** A registry entry: the family, and its simulator (loaded only by the compound simulator). */
export interface RegisteredFamily {
  readonly definition: AnyFamily;
  readonly simulator?: () => Promise<FamilySimulator>;
}
