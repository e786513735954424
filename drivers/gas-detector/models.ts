/**
 * Register maps of gas detector models, as data. A map says which table the readings live in,
 * where the block starts, and for each quantity its offset in the block and its scale; the
 * driver reads the block with one request per poll and the simulator serves the same map.
 * Another vendor's detector is described by another entry of the same shape.
 */
import { z } from 'zod';

/** One quantity: `value = raw register word × scale`. */
const Field = z.strictObject({
  /** Offset of the register from `start`. */
  offset: z.number().int().min(0).max(124),
  scale: z.number().positive().default(1),
});

export const GasRegisterMap = z
  .strictObject({
    description: z.string().optional(),
    /**
     * `holding`: FC3 Read Holding Registers, `input`: FC4 Read Input Registers
     * (Modbus Application Protocol V1.1b3 §6.3, §6.4).
     */
    table: z.enum(['holding', 'input']),
    /** PDU address of the first register of the block, 0-based (reference 40001 / 30001 = address 0). */
    start: z.number().int().min(0).max(65_535),
    /** Registers read per poll; at most 125 per request (§6.3). */
    length: z.number().int().min(1).max(125),
    fields: z.strictObject({
      /** Gas concentration, %LEL after scaling. */
      lel: Field,
      status: Field.pick({ offset: true }),
      /** Alarm thresholds, %LEL after scaling. */
      lowThreshold: Field,
      highThreshold: Field,
      /** Vendor fault code, 0 = none. */
      faultCode: Field.pick({ offset: true }),
    }),
    /** Raw values of the status register for the four states. */
    statusValues: z.strictObject({
      normal: z.number().int(),
      low: z.number().int(),
      high: z.number().int(),
      fault: z.number().int(),
    }),
    /** Coil of the gas valve relay, written with FC5 Write Single Coil (§6.5): ON = valve closed. null: no relay. */
    valveCoil: z.number().int().min(0).max(65_535).nullable(),
  })
  .refine((m) => Object.values(m.fields).every((f) => f.offset < m.length), {
    message: 'every field offset must lie inside the block (offset < length)',
    path: ['fields'],
  });
export type GasRegisterMap = z.infer<typeof GasRegisterMap>;

/** The models the driver knows; `generic-lel` is the documented model the simulator emulates. */
/** The generic detector's register block (5 holding registers from 40001). */
const GENERIC_REGISTERS = {
  table: 'holding',
  start: 0,
  length: 5,
  fields: {
    lel: { offset: 0, scale: 0.1 },
    status: { offset: 1 },
    lowThreshold: { offset: 2, scale: 0.1 },
    highThreshold: { offset: 3, scale: 0.1 },
    faultCode: { offset: 4 },
  },
  statusValues: { normal: 0, low: 1, high: 2, fault: 3 },
} as const;

export const MODELS = {
  'generic-lel': GasRegisterMap.parse({
    description:
      'Generic combustible-gas detector: 5 holding registers from 40001, valve relay on coil 00001',
    ...GENERIC_REGISTERS,
    valveCoil: 0,
  }),
  'generic-lel-novalve': GasRegisterMap.parse({
    description: 'The generic detector without a valve relay: same registers, no valve commands',
    ...GENERIC_REGISTERS,
    valveCoil: null,
  }),
} as const satisfies Record<string, GasRegisterMap>;

export type GasModelName = keyof typeof MODELS;
export const MODEL_NAMES = Object.keys(MODELS) as [GasModelName, ...GasModelName[]];
