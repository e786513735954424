/** Event types of the alarm-button family, each with its lane, severity and the shape of its data. */
import { z } from 'zod';
import type { EventSpec, Severity } from '../../gateway/devices/driver-api.js';

const Percent = z.number().min(0).max(100);
const Press = z.object({ presses: z.number().int().min(0).optional() });

export const BUTTON_EVENTS = {
  'button.pressed': { kind: 'alarm', data: Press, description: 'Someone pressed the emergency button' },
  'button.long-press': { kind: 'event', data: Press, description: 'Someone held the button (3 s on the generic model)' },
  'button.cancelled': {
    kind: 'event',
    data: Press,
    description: 'The person who pressed cancelled at the button; the alarm stays until the duty staff reset it',
  },
  'device.battery-low': {
    kind: 'event',
    data: z.object({ percent: Percent.optional() }),
    description: 'The battery is low: replace it',
  },
  'device.heartbeat': {
    kind: 'telemetry',
    data: z.object({ battery: Percent.optional(), rssi: z.number().optional(), snr: z.number().optional() }),
    description: 'Periodic heartbeat: battery and radio quality',
  },
} as const satisfies Record<string, EventSpec>;

export const BUTTON_SEVERITY: Record<keyof typeof BUTTON_EVENTS, Severity> = {
  'button.pressed': 'critical',
  'button.long-press': 'warning',
  'button.cancelled': 'info',
  'device.battery-low': 'warning',
  'device.heartbeat': 'info',
};
