/**
 * What a bin station publishes on the embedded broker, as JSON, each message at most
 * `MAX_MESSAGE_BYTES`:
 *
 * - `dev/<account>/<station>/status`: fill level per compartment, full flags, temperature,
 *   overheat and smoke sensors, tilt and door switches;
 * - `dev/<account>/<station>/drop`: one drop of a household (card or household id, category,
 *   weight, sorted correctly or not), numbered by the station (`dropId`) so a resend is recognised.
 */
import { z } from 'zod';
import { Category } from './schema.js';

export const MAX_MESSAGE_BYTES = 4096;

const Id = z.string().min(1).max(64);
const Time = z.iso.datetime({ offset: true });

export const Compartment = z.strictObject({
  level: z.number().min(0).max(100),
  full: z.boolean(),
});

export const StatusMessage = z.strictObject({
  compartments: z.partialRecord(Category, Compartment).refine((c) => Object.keys(c).length > 0, 'no compartment'),
  temperature: z.number().min(-50).max(400).optional(),
  overheat: z.boolean().default(false),
  smoke: z.boolean().default(false),
  tilt: z.boolean().default(false),
  doorOpen: z.boolean().default(false),
  time: Time.optional(),
});
export type StatusMessage = z.infer<typeof StatusMessage>;

export const DropMessage = z
  .strictObject({
    dropId: Id,
    householdId: Id.optional(),
    cardId: Id.optional(),
    category: Category,
    /** Net weight of the drop in grams (a station weighs up to 50 kg). */
    weightG: z.number().int().min(0).max(50_000),
    /** The station's judgement (camera or operator) that the drop went into the right compartment. */
    correct: z.boolean(),
    time: Time.optional(),
  })
  .refine((d) => d.householdId !== undefined || d.cardId !== undefined, 'a drop names a householdId or a cardId');
export type DropMessage = z.infer<typeof DropMessage>;
