/** Event types of the gas-detector family, each with its lane and the shape of its data (see normalise.ts). */
import { z } from 'zod';
import type { EventSpec } from '../../gateway/devices/driver-api.js';
import { GAS_STATUSES } from './normalise.js';

const Level = z.number().min(0).max(100);
const Reading = z.strictObject({
  /** %LEL; null only in fault with an out-of-range level. */
  lel: Level.nullable(),
  lowThreshold: Level,
  highThreshold: Level,
  status: z.enum(GAS_STATUSES),
});
const Fault = Reading.extend({ faultCode: z.number().int() });

export const GAS_EVENTS = {
  'gas.reading': { kind: 'telemetry', data: Reading, description: 'Gas level and thresholds (deadband, status change, or every reportIntervalMs)' },
  'gas.alarm.low': { kind: 'alarm', data: Reading, description: 'Gas above the low alarm threshold' },
  'gas.alarm.high': { kind: 'alarm', data: Reading, description: 'Gas above the high alarm threshold' },
  'gas.normal': { kind: 'event', data: Reading, description: 'Back to normal after a low or high alarm' },
  'gas.fault': { kind: 'alarm', data: Fault, description: 'The detector reports a fault (faultCode)' },
  'gas.fault.cleared': { kind: 'event', data: Reading, description: 'The detector left its fault state' },
} as const satisfies Record<string, EventSpec>;
