/**
 * Payloads of the MQTT contract v1 besides the event envelope (docs/mqtt-contract.md).
 * JSON Schemas in docs/schemas/ are generated from these by `npm run gen:schemas`.
 */
import { z } from 'zod';
import { DeviceRef, EventEnvelope } from './envelope.js';

/** Retained on `<root>/status`. */
export const GatewayStatus = z.object({
  status: z.enum(['online', 'offline']),
  version: z.string().optional(),
  since: z.iso.datetime(),
  /** City uplink only: connection counter of this gateway, +1 on every successful connect. */
  session: z.number().int().nonnegative().optional(),
});
export type GatewayStatus = z.infer<typeof GatewayStatus>;

/** Published to `<root>/cmd/<deviceId>/<command>`. */
export const CommandRequest = z.strictObject({
  /** The caller's request id, echoed in the response. */
  id: z.string().min(1).max(128),
  args: z.record(z.string(), z.unknown()).default({}),
  /** The command is not executed after this time (ISO 8601); it is answered `expired`. */
  expiresAt: z.iso.datetime({ offset: true }).optional(),
  /** City platform account sending the request (or MQTT 5 user property `account`); checked against the allow-list. */
  account: z.string().min(1).max(128).optional(),
});
export type CommandRequest = z.infer<typeof CommandRequest>;

/**
 * Published to `<root>/cmd-response/<deviceId>`: exactly one final response per request
 * (`ok`, `error`, `expired`). A command the device completes later (a door, a charger) is first
 * answered `accepted`, then with its final response under the same id.
 */
export const CommandResponse = z.object({
  id: z.string(),
  deviceId: z.string(),
  command: z.string(),
  status: z.enum(['ok', 'error', 'expired', 'accepted']),
  error: z.string().optional(),
  data: z.record(z.string(), z.unknown()).optional(),
  at: z.iso.datetime(),
});
export type CommandResponse = z.infer<typeof CommandResponse>;

/**
 * An event as the uplink publishes it to the city broker: the envelope, plus `historical: true`
 * when it is late for either reason: replayed from the outbox after an outage (published later
 * than it was committed), or reported late by the device itself (the envelope's own flag). Its
 * data keys that identify a person are masked, hashed or dropped as the site's `privacy` says.
 */
export const UplinkEvent = EventEnvelope.extend({ historical: z.boolean().optional() });
export type UplinkEvent = z.infer<typeof UplinkEvent>;

/** Retained on `<root>/birth` at the city broker, republished after every (re)connect. */
export const Birth = z.object({
  v: z.literal(1),
  site: z.string(),
  gateway: z.string(),
  version: z.string(),
  session: z.number().int().nonnegative(),
  at: z.iso.datetime(),
  devices: z.array(
    DeviceRef.extend({
      /** Commands the device accepts (`<root>/cmd/<deviceId>/<command>`). */
      commands: z.array(z.string()),
      /** Event types the device's family emits. */
      eventTypes: z.array(z.string()),
    }),
  ),
});
export type Birth = z.infer<typeof Birth>;
