/**
 * From ISAPI access-control records to normalised events (pure: tested on fixtures).
 *
 * A record comes two ways: pushed (`AccessControllerEvent` inside an event notification, with
 * `majorEventType` / `subEventType`) or fetched by the AcsEvent search (`InfoList` items with
 * `major` / `minor`). Both become one `AcsRecord`; the code table (event-codes.ts) says what it
 * is, and the temperature fields of a face verification give `gate.temperature`.
 */
import { z } from 'zod';
import type { DeviceEvent, Severity } from '../../gateway/devices/driver-api.js';
import { codeKey, type EventCode } from './event-codes.js';
import type { GateEventType } from './events.js';

const Serial = z.number().int().nonnegative();
const PersonFields = {
  employeeNoString: z.string().optional(),
  cardNo: z.string().optional(),
  name: z.string().optional(),
  doorNo: z.number().int().min(1).optional(),
  currTemperature: z.number().optional(),
  isAbnomalTemperature: z.boolean().optional(),
  mask: z.string().optional(),
};

/** The `AccessControllerEvent` object of a push (other fields the terminal sends are ignored). */
export const PushedAcsEvent = z.object({
  majorEventType: z.number().int().nonnegative(),
  subEventType: z.number().int().nonnegative(),
  serialNo: Serial,
  ...PersonFields,
});

/** An ISAPI event notification (`EventNotificationAlert` as JSON): an access event or a heartbeat. */
export const EventNotification = z.object({
  eventType: z.string(),
  dateTime: z.string().optional(),
  AccessControllerEvent: PushedAcsEvent.optional(),
});
export type EventNotification = z.infer<typeof EventNotification>;

/** One item of the AcsEvent search's `InfoList`. */
export const SearchedAcsEvent = z.object({
  major: z.number().int().nonnegative(),
  minor: z.number().int().nonnegative(),
  serialNo: Serial,
  time: z.string().optional(),
  ...PersonFields,
});

/** The AcsEvent search answer (`responseStatusStrg`: MORE, OK or NO MATCH). */
export const AcsEventSearchResult = z.object({
  AcsEvent: z.object({
    searchID: z.string().optional(),
    responseStatusStrg: z.enum(['MORE', 'OK', 'NO MATCH']),
    numOfMatches: z.number().int().nonnegative(),
    totalMatches: z.number().int().nonnegative().optional(),
    InfoList: z.array(SearchedAcsEvent).optional(),
  }),
});

export interface AcsRecord {
  major: number;
  minor: number;
  serialNo: number;
  /** The terminal's time of the event, as it wrote it. */
  time?: string;
  employeeNo?: string;
  cardNo?: string;
  name?: string;
  door?: number;
  celsius?: number;
  abnormalTemperature?: boolean;
  mask?: string;
}

const defined = <T extends object>(o: T): T =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== '')) as T;

const person = (e: z.infer<typeof PushedAcsEvent> | z.infer<typeof SearchedAcsEvent>) =>
  defined({
    employeeNo: e.employeeNoString,
    cardNo: e.cardNo,
    name: e.name,
    door: e.doorNo,
    celsius: e.currTemperature,
    abnormalTemperature: e.isAbnomalTemperature,
    mask: e.mask,
  });

export function fromPush(n: EventNotification & { AccessControllerEvent: z.infer<typeof PushedAcsEvent> }): AcsRecord {
  const e = n.AccessControllerEvent;
  return { major: e.majorEventType, minor: e.subEventType, serialNo: e.serialNo, ...defined({ time: n.dateTime }), ...person(e) };
}

export function fromSearch(e: z.infer<typeof SearchedAcsEvent>): AcsRecord {
  return { major: e.major, minor: e.minor, serialNo: e.serialNo, ...defined({ time: e.time }), ...person(e) };
}

const SEVERITY: Record<GateEventType, Severity> = {
  'access.granted': 'info',
  'access.denied': 'info',
  'access.stranger': 'info',
  'door.forced': 'warning',
  'door.held-open': 'warning',
  'door.state': 'info',
  'gate.tamper': 'major',
  'gate.temperature': 'info',
  'gate.temperature.abnormal': 'warning',
};
const KIND: Record<GateEventType, DeviceEvent['kind']> = {
  'access.granted': 'event',
  'access.denied': 'event',
  'access.stranger': 'event',
  'door.forced': 'alarm',
  'door.held-open': 'alarm',
  'door.state': 'event',
  'gate.tamper': 'alarm',
  'gate.temperature': 'event',
  'gate.temperature.abnormal': 'alarm',
};

export type GateEvent = Omit<DeviceEvent, 'deviceId'> & { type: GateEventType };

export interface NormaliseOptions {
  /** Reference of the picture that came with the push. */
  pictureRef?: string;
  /** Fetched by the search after downtime. */
  historical?: boolean;
}

/** The events one record gives (none for a code the table does not know and no temperature). */
export function normalise(r: AcsRecord, table: ReadonlyMap<string, EventCode>, o: NormaliseOptions = {}): GateEvent[] {
  const out: GateEvent[] = [];
  const parsed = r.time ? new Date(r.time) : undefined;
  const deviceTime = parsed && !Number.isNaN(parsed.getTime()) ? parsed : null;
  const source = { serialNo: r.serialNo, ...(o.historical ? { historical: true as const } : {}) };
  // Fetched late, it is marked historical in the envelope too: journaled and forwarded, no live alarm.
  const late = o.historical ? { historical: true } : {};
  const add = (type: GateEventType, data: Record<string, unknown>) =>
    out.push({ type, kind: KIND[type], severity: SEVERITY[type], deviceTime, data: { ...data, ...source }, ...late });
  const code = table.get(codeKey(r.major, r.minor));
  const door = r.door ?? 1;
  const who = defined({ employeeNo: r.employeeNo, cardNo: r.cardNo, name: r.name, pictureRef: o.pictureRef });
  switch (code?.type) {
    case 'access.granted':
      add(code.type, { door, method: code.method, ...who });
      break;
    case 'access.denied':
      add(code.type, { door, method: code.method, reason: code.reason, ...who });
      break;
    case 'access.stranger':
      add(code.type, { door, ...defined({ pictureRef: o.pictureRef }) });
      break;
    case 'door.state':
      add(code.type, { door, state: code.state });
      break;
    case 'door.forced':
    case 'door.held-open':
      add(code.type, { door });
      break;
    case 'gate.tamper':
      add(code.type, {});
      break;
    case undefined:
      break;
  }
  if (r.celsius !== undefined && r.celsius > 0) {
    const reading = { celsius: r.celsius, abnormal: r.abnormalTemperature === true, ...maskOf(r.mask) };
    add('gate.temperature', reading);
    if (reading.abnormal) add('gate.temperature.abnormal', reading);
  }
  return out;
}

function maskOf(mask: string | undefined): { mask?: boolean } {
  if (mask === 'yes') return { mask: true };
  if (mask === 'no') return { mask: false };
  return {};
}
