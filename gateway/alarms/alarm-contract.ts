/**
 * The `alarm` object carried in the data of every `alarm.*` event (MQTT contract v1) and on
 * the console feed. `docs/schemas/alarm.schema.json` is generated from it; a test checks the
 * engine's events against it.
 */
import { z } from 'zod';
import { DeviceRef, Severity } from '../core/envelope.js';

const Person = z.object({ by: z.string(), at: z.iso.datetime(), note: z.string().optional() });

export const AlarmRecord = z.object({
  /** UUIDv7 of the alarm: the same in every event of its life. */
  id: z.uuid(),
  /** Rule id, e.g. `gas-high`, `linkage-failed`. */
  rule: z.string(),
  /** What the alarm is about: a device id, `zone:<building>/<zone>`, `building:<building>` or `site`. */
  subject: z.string(),
  severity: Severity,
  message: z.string(),
  state: z.enum(['raised', 'acknowledged', 'resolved', 'cleared']),
  /** true while raised or acknowledged; one active alarm per rule and subject. */
  active: z.boolean(),
  /** How often the condition was met while active (repeats raise no new alarm). */
  count: z.number().int().positive(),
  /** Latching alarms never clear by themselves; a person resolves them. */
  latch: z.boolean(),
  /** The device whose event raised the alarm. */
  device: DeviceRef,
  /** Every device whose events contributed (combinations across devices). */
  devices: z.array(z.string()),
  trigger: z.object({
    eventId: z.string(),
    type: z.string(),
    receivedAt: z.iso.datetime(),
    data: z.record(z.string(), z.unknown()),
  }),
  raisedAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
  acknowledged: Person.optional(),
  resolved: Person.optional(),
  /** Notification tier reached (0 = the first), and its name. */
  tier: z.number().int().min(0),
  tierName: z.string(),
  /** Epoch ms of the next escalation while unacknowledged. */
  nextEscalationAt: z.number().optional(),
});
export type AlarmRecord = z.infer<typeof AlarmRecord>;

/** `data` of an `alarm.*` event (all but `alarm.suppressed`): the alarm, plus what changed. */
export const AlarmEventData = z.object({
  alarm: AlarmRecord,
  /** alarm.acknowledged / alarm.resolved: who, and their note. */
  by: z.string().optional(),
  note: z.string().optional(),
  /** alarm.escalated: the tier reached. */
  tier: z.number().int().optional(),
  tierName: z.string().optional(),
  /** alarm.action: one linkage command's outcome. */
  action: z
    .object({
      /** When it ran: as the alarm was raised, or as it ended (resolved or cleared). */
      on: z.enum(['raise', 'resolve']),
      command: z.string(),
      target: z.string(),
      outcome: z.enum(['ok', 'failed', 'timeout', 'skipped']),
      error: z.string().optional(),
      data: z.record(z.string(), z.unknown()).optional(),
    })
    .optional(),
  /** alarm.notified: one channel's outcome after its retries. */
  notification: z
    .object({
      channel: z.string(),
      ok: z.boolean(),
      attempts: z.number().int(),
      error: z.string().optional(),
      to: z.array(z.string()).optional(),
    })
    .optional(),
  /** alarm.repeated: the event that met the condition again. */
  repeat: z.object({ eventId: z.string(), type: z.string(), device: z.string() }).optional(),
  /** alarm.cleared: the event that cleared it. */
  cause: z.object({ eventId: z.string(), type: z.string() }).optional(),
});
export type AlarmEventData = z.infer<typeof AlarmEventData>;
