/**
 * The one list of event types the gateway itself emits (device family `gateway`, or any device
 * for `device.availability`). Device families declare theirs in their own definition.
 */
import type { EventKind } from './envelope.js';

export const GATEWAY_EVENT_TYPES = {
  /** A device went online or offline: `{ online, reason? }`. Every device has it. */
  'device.availability': 'event',
  /** The outbox disk budget made the uplink drop its oldest events (alarm, rate-limited). */
  'gateway.outbox.evicted': 'alarm',
  /** Alarm lifecycle: `data.alarm` is the alarm record (docs/schemas/alarm.schema.json). */
  'alarm.raised': 'alarm',
  'alarm.repeated': 'alarm',
  'alarm.acknowledged': 'alarm',
  'alarm.cleared': 'alarm',
  'alarm.resolved': 'alarm',
  'alarm.notified': 'alarm',
  'alarm.escalated': 'alarm',
  /** One linkage command's outcome. */
  'alarm.action': 'alarm',
  /** A linkage command failed: raises the `linkage-failed` alarm. */
  'alarm.linkage-failed': 'alarm',
  /** A rule matched inside a maintenance window: recorded, no alarm. */
  'alarm.suppressed': 'alarm',
} as const satisfies Record<string, EventKind>;

export type GatewayEventType = keyof typeof GATEWAY_EVENT_TYPES;

/** Event types every device has, whatever its family. */
export const GENERIC_EVENT_TYPES: readonly GatewayEventType[] = ['device.availability'];
