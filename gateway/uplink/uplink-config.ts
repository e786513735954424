/**
 * Config of the uplink to the city platform: the `uplink:` key of the site file.
 * Everything has a safe default except the broker URL.
 */
import { z } from 'zod';

const Ms = z.number().int().positive();

export const UplinkTls = z.strictObject({
  /** PEM file of the CA(s) that signed the city broker's certificate. Omit to use the system CAs. */
  caFile: z.string().min(1).optional(),
  /** Mutual TLS: PEM client certificate and private key files. */
  certFile: z.string().min(1).optional(),
  keyFile: z.string().min(1).optional(),
  /** Name checked against the broker certificate, when it differs from the URL host. */
  servername: z.string().min(1).optional(),
  /** Only for lab set-ups: accepts any broker certificate. Never in production. */
  insecureSkipVerify: z.boolean().default(false),
});

export const CommandGrant = z.strictObject({
  /** Device family (e.g. `gas-detector`) or `*` for every family. */
  family: z.string().min(1),
  /** Command names (e.g. `valve.close`) or `*` for every command of the family. */
  commands: z.array(z.string().min(1)).min(1),
});

export const PlatformAccount = z.strictObject({
  /** Account name the platform puts in the request (`account` field or MQTT 5 user property). */
  account: z.string().min(1),
  allow: z.array(CommandGrant).default([]),
});

export const UplinkConfig = z.strictObject({
  enabled: z.boolean().default(true),
  /** City broker: `mqtt://host:1883` or `mqtts://host:8883` (TLS). */
  url: z.string().regex(/^(mqtt|mqtts|tcp|ssl|tls):\/\/[^/]+$/, 'mqtt://host:port or mqtts://host:port'),
  /** `auto` tries MQTT 5 and falls back to 3.1.1 when the broker refuses it. */
  protocol: z.enum(['auto', '5', '3.1.1']).default('auto'),
  /** Defaults to `<site id>-<gateway id>`. */
  clientId: z.string().min(1).optional(),
  username: z.string().min(1).optional(),
  /** Prefer passwordFile: the password stays out of the site file. */
  password: z.string().optional(),
  passwordFile: z.string().min(1).optional(),
  tls: UplinkTls.optional(),
  keepaliveS: z.number().int().min(5).max(65535).default(30),
  connectTimeoutMs: Ms.default(10_000),
  backoff: z
    .strictObject({
      initialMs: Ms.default(1000),
      maxMs: Ms.default(60_000),
      /** Delay after a refusal for bad credentials / not authorised: retried slowly, never hammered. */
      authFailureMs: Ms.default(300_000),
    })
    .prefault({}),
  outbox: z
    .strictObject({
      /** Messages published and not yet acknowledged (PUBACK) at most; capped by the broker's Receive Maximum. */
      inflightWindow: z.number().int().min(1).max(65535).default(500),
      /** Disk budget of the outbox (payload bytes, telemetry's counted though read from the journal). When reached, the oldest telemetry is evicted; never alarms or events. */
      maxSizeMB: z.number().positive().default(1024),
      /** MQTT 5 message expiry of telemetry at the city broker (seconds); omit for none. */
      telemetryExpiryS: z.number().int().positive().optional(),
      /** At most one `gateway.outbox.evicted` alarm per interval (it counts every eviction since the last one). */
      evictionAlarmIntervalMs: Ms.default(60_000),
    })
    .prefault({}),
  commands: z
    .strictObject({
      /** Subscribe to `<root>/cmd/+/+` on the city broker. */
      enabled: z.boolean().default(true),
      /** Allow-list: what each platform account may ask of which family. Nothing is allowed by default. */
      accounts: z.array(PlatformAccount).default([]),
    })
    .prefault({}),
});
export type UplinkConfig = z.infer<typeof UplinkConfig>;
export type UplinkConfigInput = z.input<typeof UplinkConfig>;
