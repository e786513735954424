/**
 * Payloads of the MQTT contract v1 besides the event envelope (docs/mqtt-contract.md).
 * JSON Schemas in docs/schemas/ are generated from these by `npm run gen:schemas`.
 */
import { z } from 'zod';

/** Retained on `<root>/status`. */
export const GatewayStatus = z.object({
  status: z.enum(['online', 'offline']),
  version: z.string().optional(),
  since: z.iso.datetime(),
});
export type GatewayStatus = z.infer<typeof GatewayStatus>;

/** Published to `<root>/cmd/<deviceId>/<command>`. */
export const CommandRequest = z.strictObject({
  /** The caller's request id, echoed in the response. */
  id: z.string().min(1).max(128),
  args: z.record(z.string(), z.unknown()).default({}),
  /** The command is not executed after this time (ISO 8601); it is answered `expired`. */
  expiresAt: z.iso.datetime({ offset: true }).optional(),
});
export type CommandRequest = z.infer<typeof CommandRequest>;

/** Published to `<root>/cmd-response/<deviceId>`: exactly one per request. */
export const CommandResponse = z.object({
  id: z.string(),
  deviceId: z.string(),
  command: z.string(),
  status: z.enum(['ok', 'error', 'expired']),
  error: z.string().optional(),
  data: z.record(z.string(), z.unknown()).optional(),
  at: z.iso.datetime(),
});
export type CommandResponse = z.infer<typeof CommandResponse>;
