/** Event types of the streetlight family, each with its lane and the shape of its data (see normalise.ts). */
import { z } from 'zod';
import type { EventSpec } from '../../gateway/devices/driver-api.js';

const Lamp = z.number().int().min(1);
const Level = z.number().min(0).max(100);
export const LampReading = z.strictObject({
  lamp: Lamp,
  on: z.boolean(),
  level: Level,
  volts: z.number(),
  amps: z.number(),
  watts: z.number(),
  energyWh: z.number().min(0),
  /** The failure reason the controller reports, or `none`. */
  failure: z.string(),
});

export const LIGHT_EVENTS = {
  'light.state': { kind: 'event', data: z.strictObject({ lamp: Lamp, on: z.boolean(), level: Level }), description: 'A lamp switched on or off, or its dim level changed' },
  'light.reading': { kind: 'telemetry', data: LampReading, description: 'Voltage, current, power, energy of a lamp (on change, or every reportIntervalMs)' },
  'light.failure': {
    kind: 'event',
    data: z.strictObject({ lamp: Lamp, reason: z.string(), failedLamps: z.number().int().min(1) }),
    description: 'A lamp failed (the controller\'s failure status bit; reason: the bit\'s name); failedLamps: lamps of the controller failed now',
  },
  'light.failure.cleared': {
    kind: 'event',
    data: z.strictObject({ lamp: Lamp, failedLamps: z.number().int().min(0) }),
    description: 'A failed lamp works again (repaired); failedLamps: lamps of the controller still failed',
  },
  'light.controller.fault': {
    kind: 'event',
    data: z.strictObject({ code: z.number().int().min(1), meaning: z.string() }),
    description: 'The controller reports a fault code (meaning from the driver\'s faultCodes, else "fault <code>")',
  },
  'light.controller.fault.cleared': { kind: 'event', data: z.strictObject({ code: z.number().int().min(0) }), description: 'The controller\'s fault code is back to 0' },
} as const satisfies Record<string, EventSpec>;
