/**
 * ISAPI access-control event codes (`major` / `minor` of an `AcsEvent` record, `majorEventType` /
 * `subEventType` of a pushed `AccessControllerEvent`) and the normalised event each one becomes.
 *
 * Majors: 0x1 alarm, 0x2 exception, 0x3 operation, 0x5 event. A code not in the table is heard
 * (the terminal is alive) and otherwise ignored. A site adds or replaces codes per driver
 * instance with `eventCodes:` entries of the same shape (another model, another firmware).
 */
import { z } from 'zod';

export const ACCESS_METHODS = ['face', 'card', 'fingerprint', 'password', 'remote'] as const;
export const DOOR_STATES = ['open', 'closed', 'always-open', 'always-close'] as const;

/** The event types a code may map to (temperature events come from the record's temperature fields). */
export const CODE_TYPES = [
  'access.granted',
  'access.denied',
  'access.stranger',
  'door.forced',
  'door.held-open',
  'door.state',
  'gate.tamper',
] as const;

export const EventCode = z
  .strictObject({
    major: z.number().int().min(0).max(0xffff),
    minor: z.number().int().min(0).max(0xffff),
    type: z.enum(CODE_TYPES),
    /** access.granted / access.denied: how the person tried. */
    method: z.enum(ACCESS_METHODS).optional(),
    /** access.denied: why, e.g. no-right, expired, unknown-card, face-mismatch. */
    reason: z.string().min(1).optional(),
    /** door.state: the state the door is in after this code. */
    state: z.enum(DOOR_STATES).optional(),
    description: z.string().optional(),
  })
  .refine((c) => !c.type.startsWith('access.') || c.type === 'access.stranger' || c.method !== undefined, {
    message: 'access.granted and access.denied codes need a method (face, card, fingerprint, password, remote)',
    path: ['method'],
  })
  .refine((c) => c.type !== 'access.denied' || c.reason !== undefined, {
    message: 'access.denied codes need a reason, e.g. no-right',
    path: ['reason'],
  })
  .refine((c) => c.type !== 'door.state' || c.state !== undefined, {
    message: 'door.state codes need a state (open, closed, always-open, always-close)',
    path: ['state'],
  });
export type EventCode = z.infer<typeof EventCode>;

const MAJOR_ALARM = 0x1;
const MAJOR_OPERATION = 0x3;
const MAJOR_EVENT = 0x5;

const granted = (minor: number, method: EventCode['method'], description: string): EventCode => ({
  major: MAJOR_EVENT,
  minor,
  type: 'access.granted',
  method,
  description,
});
const denied = (minor: number, method: EventCode['method'], reason: string, description: string): EventCode => ({
  major: MAJOR_EVENT,
  minor,
  type: 'access.denied',
  method,
  reason,
  description,
});
const door = (minor: number, state: EventCode['state'], description: string): EventCode => ({
  major: MAJOR_EVENT,
  minor,
  type: 'door.state',
  state,
  description,
});

/** The codes of ISAPI face-recognition access terminals. */
export const EVENT_CODES: readonly EventCode[] = [
  granted(0x01, 'card', 'legal card pass'),
  granted(0x02, 'card', 'card and password pass'),
  granted(0x26, 'fingerprint', 'fingerprint compare pass'),
  granted(0x28, 'card', 'card and fingerprint pass'),
  granted(0x3c, 'face', 'face and card pass'),
  granted(0x4b, 'face', 'face verify pass'),
  granted(0x4d, 'face', 'employee number and face pass'),
  granted(0x65, 'password', 'employee number and password pass'),
  { major: MAJOR_OPERATION, minor: 0x400, type: 'access.granted', method: 'remote', description: 'remote open door' },
  denied(0x03, 'card', 'password-mismatch', 'card and password fail'),
  denied(0x06, 'card', 'no-right', 'card has no right on this door'),
  denied(0x07, 'card', 'invalid-period', 'card outside its valid time period'),
  denied(0x08, 'card', 'expired', 'card out of date'),
  denied(0x09, 'card', 'unknown-card', 'card number not enrolled'),
  denied(0x27, 'fingerprint', 'fingerprint-mismatch', 'fingerprint compare fail'),
  denied(0x4c, 'face', 'face-mismatch', 'face verify fail'),
  denied(0x66, 'password', 'password-mismatch', 'employee number and password fail'),
  { major: MAJOR_EVENT, minor: 0x50, type: 'access.stranger', description: 'face recognize fail: a face not enrolled' },
  { major: MAJOR_EVENT, minor: 0x1b, type: 'door.forced', description: 'door open abnormal (opened without a pass)' },
  { major: MAJOR_EVENT, minor: 0x1c, type: 'door.held-open', description: 'door open timeout (held open)' },
  door(0x19, 'open', 'door open normal'),
  door(0x1a, 'closed', 'door close normal'),
  door(0x13, 'always-open', 'always open begin'),
  door(0x14, 'closed', 'always open end (back to normal, locked)'),
  door(0x1f, 'always-close', 'always close begin'),
  door(0x20, 'closed', 'always close end (back to normal, locked)'),
  { major: MAJOR_ALARM, minor: 0x404, type: 'gate.tamper', description: 'host tamper (dismantle) alarm' },
  { major: MAJOR_ALARM, minor: 0x408, type: 'gate.tamper', description: 'case sensor alarm' },
];

/** The table of one driver instance: the built-in codes, then the site's (a site entry replaces a built-in one). */
export function codeTable(site: readonly EventCode[] = []): Map<string, EventCode> {
  const table = new Map<string, EventCode>();
  for (const c of [...EVENT_CODES, ...site]) table.set(codeKey(c.major, c.minor), c);
  return table;
}

export const codeKey = (major: number, minor: number) => `${major}/${minor}`;
