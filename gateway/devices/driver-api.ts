/**
 * The narrow interface between the core and a device driver (EdgeX-style: push and
 * poll paths both end in `ctx.emit`). A driver module is data plus a factory:
 * its zod config schema, the commands it accepts, and `create`.
 */
import { z } from 'zod';
import type { DeviceEvent } from '../core/envelope.js';
import type { Logger } from '../core/logger.js';

/** Fields every device entry carries, whatever its family (used for selectors and the envelope). */
export const DeviceBase = z.object({
  id: z
    .string()
    .regex(
      /^[A-Za-z0-9][A-Za-z0-9_-]*$/,
      'letters, digits, "-" and "_" only (it becomes an MQTT topic level)',
    ),
  name: z.string().optional(),
  building: z.string().optional(),
  zone: z.string().optional(),
  tags: z.array(z.string()).default([]),
});
export type DeviceBase = z.infer<typeof DeviceBase>;

/** Fields every driver instance carries in the `drivers:` list of the site config. */
export const DriverBase = z.object({
  /** Unique name of this driver instance, e.g. `gas-bus-b3`. */
  id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]*$/, 'letters, digits, "-" and "_" only'),
  enabled: z.boolean().default(true),
});

export type CommandResult = { ok: true; data?: Record<string, unknown> } | { ok: false; error: string };

export interface DriverContext {
  /** pino child logger bound to this driver instance. */
  readonly log: Logger;
  /** Report a normalised event about one of this driver's devices. */
  emit(event: DeviceEvent): void;
  /** Report a device going online or offline; repeated identical reports are ignored. */
  availability(deviceId: string, online: boolean, reason?: string): void;
  /** Report device data that did not validate: it is logged with the reason and counted, never turned into an event. */
  invalid(deviceId: string, reason: string, raw?: unknown): void;
  /** Count a failed poll of a device (for `/metrics`). */
  pollError(deviceId: string, reason: string): void;
  /**
   * True while the gateway is behind (telemetry waiting and coalescing): a polling driver stretches
   * its cycle, a push driver answers "busy" where its protocol has a way to say it.
   */
  busy(): boolean;
}

export interface DriverInstance {
  /** Resolves once the driver is running; rejects if it cannot start (the supervisor retries). */
  start(): Promise<void>;
  /** Stops polling and closes connections. Must not throw. */
  stop(): Promise<void>;
  /** Runs a command on one device. Never throws: failures are `{ ok: false, error }`. */
  command(deviceId: string, name: string, args: unknown): Promise<CommandResult>;
  /**
   * Optional: the driver calls this when it hits an unrecoverable fault at run time
   * (the supervisor then restarts it with backoff).
   */
  onFatal?: (listener: (err: Error) => void) => void;
}

export interface DriverDefinition<C extends z.infer<typeof DriverBase> & { devices: DeviceBase[] }> {
  /** Device family, e.g. `gas-detector`; the `family:` key in the config. */
  readonly family: string;
  /** zod schema of one driver instance config (must include `family: z.literal(family)`). */
  readonly configSchema: z.ZodType<C>;
  /** Commands the devices of this family accept, with their argument schemas. */
  readonly commands: Readonly<Record<string, z.ZodType>>;
  /** Event types this family emits, for docs and rule validation. */
  readonly eventTypes: readonly string[];
  create(config: C, ctx: DriverContext): DriverInstance;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the registry holds definitions of every config type
export type AnyDriverDefinition = DriverDefinition<any>;
