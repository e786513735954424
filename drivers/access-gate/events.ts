/** Event types of the access-gate family, each with its lane and the shape of its data (see normalise.ts). */
import { z } from 'zod';
import type { EventSpec } from '../../gateway/devices/driver-api.js';
import { ACCESS_METHODS, DOOR_STATES } from './event-codes.js';

/** Every event says which terminal record it came from, and whether it was fetched after downtime. */
const Source = {
  /** The terminal's event serial number (`serialNo`). */
  serialNo: z.number().int().nonnegative(),
  /** Present (true) when the event was fetched by the AcsEvent search after downtime, not pushed. */
  historical: z.literal(true).optional(),
};
const Door = { door: z.number().int().min(1), ...Source };
const Person = {
  employeeNo: z.string().optional(),
  cardNo: z.string().optional(),
  name: z.string().optional(),
  /** Reference of the picture the terminal took (driver files), never the bytes. */
  pictureRef: z.string().optional(),
};
const Method = z.enum(ACCESS_METHODS);

/** Keys of the data that identify a person: the site's privacy setting applies to them upstream. */
const PERSONAL = ['employeeNo', 'cardNo', 'name', 'pictureRef'] as const;

export const GATE_EVENTS = {
  'access.granted': {
    kind: 'event',
    data: z.strictObject({ ...Door, method: Method, ...Person }),
    description: 'A person passed: face, card, fingerprint, password or a remote open',
    personal: PERSONAL,
  },
  'access.denied': {
    kind: 'event',
    data: z.strictObject({ ...Door, method: Method, reason: z.string(), ...Person }),
    description: 'A person was refused (reason: no-right, expired, unknown-card, face-mismatch, ...)',
    personal: PERSONAL,
  },
  'access.stranger': {
    kind: 'event',
    data: z.strictObject({ ...Door, pictureRef: z.string().optional() }),
    description: 'A face that is not enrolled',
    personal: ['pictureRef'],
  },
  'door.forced': { kind: 'alarm', data: z.strictObject(Door), description: 'The door was opened without a pass' },
  'door.held-open': { kind: 'alarm', data: z.strictObject(Door), description: 'The door stayed open past its time' },
  'door.state': {
    kind: 'event',
    data: z.strictObject({ ...Door, state: z.enum(DOOR_STATES) }),
    description: 'The door opened, closed, or entered or left always-open / always-close',
  },
  'gate.tamper': { kind: 'alarm', data: z.strictObject(Source), description: 'The terminal was opened or taken off the wall' },
  'gate.temperature': {
    kind: 'event',
    data: z.strictObject({ ...Source, celsius: z.number(), abnormal: z.boolean(), mask: z.boolean().optional() }),
    description: 'Body temperature the terminal measured at a face verification',
  },
  'gate.temperature.abnormal': {
    kind: 'alarm',
    data: z.strictObject({ ...Source, celsius: z.number(), abnormal: z.literal(true), mask: z.boolean().optional() }),
    description: 'The terminal measured a temperature it flags as abnormal',
  },
} as const satisfies Readonly<Record<string, EventSpec>>;

export type GateEventType = keyof typeof GATE_EVENTS;
