/**
 * The one event envelope of the gateway (MQTT contract v1). Every event a driver
 * reports, every availability change and every gateway event travels in this shape:
 * on the local bus, in the journal and to the city platform.
 */
import { randomFillSync } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';
import { z } from 'zod';

export const ENVELOPE_VERSION = 1;

export const Severity = z.enum(['info', 'warning', 'major', 'critical']);
export type Severity = z.infer<typeof Severity>;

/** Which uplink lane an event travels in: alarms first, telemetry last. */
export const EventKind = z.enum(['alarm', 'event', 'telemetry']);
export type EventKind = z.infer<typeof EventKind>;

export const DeviceRef = z.object({
  id: z.string().min(1),
  family: z.string().min(1),
  building: z.string().optional(),
  zone: z.string().optional(),
  tags: z.array(z.string()).default([]),
});
export type DeviceRef = z.infer<typeof DeviceRef>;

const EVENT_TYPE = /^[a-z][a-z0-9-]*(\.[a-z0-9-]+)*$/;

/** Dotted lower-case event type, e.g. `gas.alarm.high`, `device.availability`. */
export const EventType = z.string().regex(EVENT_TYPE, 'dotted lower-case, e.g. gas.alarm.high');

export const EventEnvelope = z.object({
  v: z.literal(ENVELOPE_VERSION),
  /** UUIDv7: unique and sortable by creation time; the platform dedupes by it. */
  id: z.uuid(),
  site: z.string().min(1),
  gateway: z.string().min(1),
  /** Per-gateway sequence number, strictly increasing, survives restarts. */
  seq: z.number().int().positive(),
  device: DeviceRef,
  type: EventType,
  kind: EventKind,
  severity: Severity,
  /** Time the device says the event happened, if it says (ISO 8601). */
  deviceTime: z.iso.datetime({ offset: true }).nullable(),
  /** Time the gateway received the device message (ISO 8601, UTC). */
  receivedAt: z.iso.datetime(),
  data: z.record(z.string(), z.unknown()),
  /**
   * Present (true) when the device reports the event late, from its own memory: it happened
   * while the gateway could not hear the device (e.g. an access gate's event search after an
   * outage). Such events are journaled and forwarded, but raise no live alarm and no linkage.
   */
  historical: z.literal(true).optional(),
});
export type EventEnvelope = z.infer<typeof EventEnvelope>;

/** What a driver reports: an event about one of its devices, before the core stamps it. */
export interface DeviceEvent {
  deviceId: string;
  type: string;
  kind: EventKind;
  severity: Severity;
  deviceTime?: Date | null;
  /** When the device message reached the gateway; defaults to now. */
  receivedAt?: Date;
  data: Record<string, unknown>;
  /**
   * The device stored this event while the gateway could not hear it and reports it now
   * (set `deviceTime` to when it happened): it is marked `historical` for the city and the
   * console, and raises no live alarm.
   */
  historical?: boolean;
}

export interface Stamp {
  site: string;
  gateway: string;
  seq: number;
  device: DeviceRef;
}

const KINDS: ReadonlySet<string> = new Set(EventKind.options);
const SEVERITIES: ReadonlySet<string> = new Set(Severity.options);
/** Dates an ISO 8601 text holds with a four-digit year (0000-9999). */
const isoDate = (d: Date) => d.getTime() >= -62_167_219_200_000 && d.getTime() <= 253_402_300_799_999;

/**
 * Why `stampEvent` would not make a valid envelope of `e`, if it would not: the envelope's fields
 * the event supplies. The shape of `data` is the family's to check, where the event enters the
 * gateway (its event spec); everything else in the envelope is the gateway's own.
 */
export function eventProblem(e: DeviceEvent): string | undefined {
  if (typeof e.type !== 'string' || !EVENT_TYPE.test(e.type))
    return `type: "${String(e.type)}" is not dotted lower-case, e.g. gas.alarm.high`;
  if (!KINDS.has(e.kind)) return `kind: "${String(e.kind)}" is not one of ${[...KINDS].join(', ')}`;
  if (!SEVERITIES.has(e.severity)) return `severity: "${String(e.severity)}" is not one of ${[...SEVERITIES].join(', ')}`;
  if (typeof e.data !== 'object' || e.data === null || Array.isArray(e.data)) return 'data: must be an object';
  if (e.deviceTime && !(e.deviceTime instanceof Date && isoDate(e.deviceTime)))
    return 'deviceTime: not a valid date (year 0000-9999)';
  if (e.receivedAt && !(e.receivedAt instanceof Date && isoDate(e.receivedAt)))
    return 'receivedAt: not a valid date (year 0000-9999)';
  return undefined;
}

/** Random bytes for ids, drawn from the system in blocks rather than 16 bytes per id. */
const pool = Buffer.alloc(16 * 256);
let poolAt = pool.length;
/** The random bytes of one id, copied from the pool (no view allocated per id). */
const random = new Uint8Array(16);
/** Within one millisecond a counter seeded at random goes on (RFC 9562 §6.2, as the uuid package does). */
const v7 = { msecs: -1, seq: 0 };

/** A new UUIDv7, monotonic within this process. */
export function newEventId(): string {
  if (poolAt === pool.length) {
    randomFillSync(pool);
    poolAt = 0;
  }
  for (let i = 0; i < 16; i++) random[i] = pool[poolAt + i]!;
  poolAt += 16;
  const now = Date.now();
  if (now > v7.msecs) {
    v7.msecs = now;
    v7.seq = ((random[6]! & 0x7f) << 24) | (random[7]! << 16) | (random[8]! << 8) | random[9]!;
  } else {
    v7.seq = (v7.seq + 1) | 0;
    if (v7.seq === 0) v7.msecs++;
  }
  return uuidv7({ random, msecs: v7.msecs, seq: v7.seq });
}

/** Builds an envelope; the caller supplies the sequence number and device metadata. */
export function stampEvent(e: DeviceEvent, s: Stamp): EventEnvelope {
  return {
    v: ENVELOPE_VERSION,
    id: newEventId(),
    site: s.site,
    gateway: s.gateway,
    seq: s.seq,
    device: s.device,
    type: e.type,
    kind: e.kind,
    severity: e.severity,
    deviceTime: e.deviceTime ? e.deviceTime.toISOString() : null,
    receivedAt: (e.receivedAt ?? new Date()).toISOString(),
    data: e.data,
    // Last key: the uplink recognises a stored payload that already carries the flag by its end.
    ...(e.historical ? { historical: true as const } : {}),
  };
}

/**
 * What one event type is: its uplink lane and the shape of its `data`. Each device family
 * declares its event types this way, the gateway its own: events are checked against it once,
 * where they enter the gateway.
 */
export interface EventSpec {
  kind: EventKind;
  /** zod schema of `data`; an event whose data does not match is refused and counted. */
  data: z.ZodType<Record<string, unknown>>;
  /** One line for the docs and the console. */
  description: string;
  /**
   * Keys of `data` that identify a person (card, employee number, name): the site's privacy
   * setting decides whether they reach the city in full, masked, hashed or not at all.
   */
  personal?: readonly string[];
}
