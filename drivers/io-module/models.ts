/**
 * Register maps of digital I/O modules (DI/DO boards), as data. A model says how many inputs
 * and outputs the board has and where they live; the driver reads the inputs with one request
 * per poll and the outputs with one more, and the simulator serves the same map. A board not
 * listed here is described in the site file (`models:` of the driver) with the same shape.
 *
 * Inputs and outputs are numbered from 1, as printed on the board (DI1..DI8, DO1..DO8):
 * input n is the bit at `start + n - 1` (discrete inputs), or bit (n-1) mod 16 (bit 0 = least
 * significant) of register `start + floor((n-1) / 16)` (bit-packed registers).
 */
import { z } from 'zod';
import { Address } from '../modbus/register-map.js';

export const IoModuleModel = z.strictObject({
  description: z.string().optional(),
  inputs: z.strictObject({
    /** Digital inputs on the board (0: an output-only board). */
    count: z.number().int().min(0).max(256),
    /**
     * `discrete`: FC2 Read Discrete Inputs, one bit per input (Modbus Application Protocol
     * V1.1b3 §6.2); `holding` / `input`: FC3 / FC4 registers with 16 inputs packed per register
     * (§6.3, §6.4).
     */
    table: z.enum(['discrete', 'holding', 'input']).default('discrete'),
    /** PDU address (0-based) of input 1, or of the register holding it. */
    start: Address.default(0),
  }),
  outputs: z
    .strictObject({
      /** Relay / transistor outputs on the board (0: an input-only board). */
      count: z.number().int().min(0).max(256),
      /** PDU address of the coil of output 1: written with FC5 Write Single Coil (§6.5), read back with FC1 Read Coils (§6.1). */
      start: Address.default(0),
    })
    .default({ count: 0, start: 0 }),
});
export type IoModuleModel = z.infer<typeof IoModuleModel>;

/** The models the driver knows; a site adds its own under `models:`. */
export const MODELS: Readonly<Record<string, IoModuleModel>> = {
  'generic-8di8do': IoModuleModel.parse({
    description: '8 inputs as discrete inputs 10001-10008 (FC2), 8 relay outputs on coils 00001-00008',
    inputs: { count: 8, table: 'discrete', start: 0 },
    outputs: { count: 8, start: 0 },
  }),
  'generic-8di8do-register': IoModuleModel.parse({
    description: '8 inputs packed in input register 30001 (FC4, bit 0 = DI1), 8 relay outputs on coils 00001-00008',
    inputs: { count: 8, table: 'input', start: 0 },
    outputs: { count: 8, start: 0 },
  }),
  'generic-16di': IoModuleModel.parse({
    description: '16 inputs as discrete inputs 10001-10016 (FC2), no outputs',
    inputs: { count: 16, table: 'discrete', start: 0 },
  }),
};

/** Input n of a model: the address to read and, for registers, the bit in it. */
export function inputBit(model: IoModuleModel, n: number): { address: number; bit?: number } {
  if (model.inputs.table === 'discrete') return { address: model.inputs.start + n - 1 };
  return { address: model.inputs.start + Math.floor((n - 1) / 16), bit: (n - 1) % 16 };
}

/** Registers holding the inputs of a bit-packed model. */
export const inputRegisters = (model: IoModuleModel): number => Math.ceil(model.inputs.count / 16);

/** Unpacks the inputs of a bit-packed model from its registers (input 1 first). */
export function unpackInputs(model: IoModuleModel, words: readonly number[]): boolean[] {
  return Array.from({ length: model.inputs.count }, (_, i) => (((words[i >> 4] ?? 0) >> (i & 15)) & 1) === 1);
}
