/** Event types of the smart-bin family, each with its lane, severity and the shape of its data. */
import { z } from 'zod';
import type { EventSpec, Severity } from '../../gateway/devices/driver-api.js';
import { Category } from './schema.js';

const Percent = z.number().min(0).max(100);

export const BIN_EVENTS = {
  'bin.level': {
    kind: 'telemetry',
    data: z.strictObject({ recyclable: Percent.optional(), kitchen: Percent.optional(), hazardous: Percent.optional(), other: Percent.optional() }),
    description: 'Fill level of each compartment, % (each status message)',
  },
  'bin.full': {
    kind: 'event',
    data: z.object({ full: z.boolean(), compartments: z.array(Category) }),
    description: 'The set of full compartments changed: `full` while any is full, `compartments` lists them',
  },
  'bin.overheat': {
    kind: 'alarm',
    data: z.object({ celsius: z.number().optional() }),
    description: 'The station reports overheating inside (fire risk)',
  },
  'bin.smoke': {
    kind: 'alarm',
    data: z.object({ celsius: z.number().optional() }),
    description: 'The station smoke sensor detects smoke (fire risk)',
  },
  'bin.tilt': {
    kind: 'event',
    data: z.object({ tilted: z.boolean() }),
    description: 'The station was tipped over (or set upright again)',
  },
  'bin.door': {
    kind: 'event',
    data: z.object({ open: z.boolean() }),
    description: 'The service door of the station opened or closed',
  },
  'bin.drop': {
    kind: 'event',
    data: z.object({
      dropId: z.string(),
      householdId: z.string().optional(),
      cardId: z.string().optional(),
      category: Category,
      weightG: z.number().int(),
      correct: z.boolean(),
    }),
    description: 'A household dropped waste: category, weight and whether it was sorted correctly',
    personal: ['householdId', 'cardId'],
  },
} as const satisfies Record<string, EventSpec>;

export type BinEventType = keyof typeof BIN_EVENTS;

export const BIN_SEVERITY: Record<BinEventType, Severity> = {
  'bin.level': 'info',
  'bin.full': 'info',
  'bin.overheat': 'critical',
  'bin.smoke': 'critical',
  'bin.tilt': 'warning',
  'bin.door': 'info',
  'bin.drop': 'info',
};
