/** Event types of the smoke-detector family, each with its lane, severity and the shape of its data. */
import { z } from 'zod';
import type { EventSpec, Severity } from '../../gateway/devices/driver-api.js';

const Percent = z.number().min(0).max(100);
const Nothing = z.object({});

export const SMOKE_EVENTS = {
  'smoke.alarm': {
    kind: 'alarm',
    data: z.object({ battery: Percent.optional() }),
    description: 'The detector senses smoke and sounds its alarm',
  },
  'smoke.alarm.cleared': { kind: 'event', data: Nothing, description: 'The smoke is gone; the detector stopped sounding' },
  'smoke.silenced': { kind: 'event', data: Nothing, description: 'Someone pressed the hush button during an alarm' },
  'smoke.test': { kind: 'event', data: Nothing, description: 'Someone pressed the test button' },
  'smoke.fault': {
    kind: 'alarm',
    data: z.object({ code: z.number().int().optional(), reason: z.string().optional() }),
    description: 'The detector reports a fault (dirty chamber, sounder, sensor): it may not detect smoke',
  },
  'device.battery-low': {
    kind: 'event',
    data: z.object({ percent: Percent.optional() }),
    description: 'The battery is low: replace it',
  },
  'device.tamper': { kind: 'event', data: Nothing, description: 'The detector was removed from its base' },
  'device.heartbeat': {
    kind: 'telemetry',
    data: z.object({ battery: Percent.optional(), rssi: z.number().optional(), snr: z.number().optional() }),
    description: 'Periodic heartbeat: battery and radio quality',
  },
} as const satisfies Record<string, EventSpec>;

export const SMOKE_SEVERITY: Record<keyof typeof SMOKE_EVENTS, Severity> = {
  'smoke.alarm': 'critical',
  'smoke.alarm.cleared': 'info',
  'smoke.silenced': 'info',
  'smoke.test': 'info',
  'smoke.fault': 'major',
  'device.battery-low': 'warning',
  'device.tamper': 'warning',
  'device.heartbeat': 'info',
};
