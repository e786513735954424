/** Event types of the io-module family, each with its lane and the shape of its data. */
import { z } from 'zod';
import type { EventSpec } from '../../gateway/devices/driver-api.js';

/** Where the point is wired: the module (its id in the site file) and the input or output number. */
const Input = z.strictObject({ module: z.string(), input: z.number().int().min(1) });
const Output = z.strictObject({ module: z.string(), output: z.number().int().min(1) });

export const IO_EVENTS = {
  'button.pressed': { kind: 'alarm', data: Input, description: 'A wired emergency button was pressed (role button)' },
  'button.released': { kind: 'event', data: Input, description: 'The button is back at rest (role button)' },
  'contact.open': { kind: 'event', data: Input, description: 'A door or window contact opened (role contact)' },
  'contact.closed': { kind: 'event', data: Input, description: 'The contact closed again (role contact)' },
  'input.changed': {
    kind: 'event',
    data: Input.extend({ value: z.boolean() }),
    description: 'A generic input changed (role input); value true = active',
  },
  'output.state': {
    kind: 'event',
    data: Output.extend({ on: z.boolean() }),
    description: 'An output (siren or relay) as read back from its coil: first read, after a command, or changed by someone else',
  },
} as const satisfies Record<string, EventSpec>;
