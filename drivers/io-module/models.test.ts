/** Board models in the register-map format: the shipped ones, and what a model is refused for. */
import { describe, expect, it } from 'vitest';
import { inputsOf, IoModel, MODELS, outputsOf } from './models.js';

const issues = (model: unknown) => (IoModel.safeParse(model).error?.issues ?? []).map((i) => `${i.path.join('.')}: ${i.message}`);
const discrete = { inputs: { table: 'discrete', start: 0, length: 2 }, outputs: { table: 'coils', start: 8, length: 2 } };

describe('io-module board models', () => {
  it('ships boards whose points are their di<n> fields and do<n> coils', () => {
    expect(Object.fromEntries(Object.entries(MODELS).map(([k, m]) => [k, [inputsOf(m).length, outputsOf(m).length]]))).toEqual({
      'generic-8di8do': [8, 8],
      'generic-8di8do-register': [8, 8],
      'generic-16di': [16, 0],
    });
    expect(MODELS['generic-8di8do-register']?.fields.di8).toMatchObject({ block: 'inputs', offset: 0, type: 'bool', bit: 7 });
    expect(MODELS['generic-8di8do']?.coils.do8).toEqual({ address: 7, writable: true });
  });

  it('refuses a model without points, with a number input, a read-only or unread output, a field without its coil', () => {
    expect(issues({ blocks: discrete, fields: {} })).toEqual([
      'fields: a board model needs inputs (fields di1, di2, ...) or outputs (coils do1, do2, ... with fields do1, do2, ...); see drivers/io-module/models.ts',
    ]);
    expect(
      issues({
        blocks: { ...discrete, regs: { table: 'holding', start: 0, length: 1 } },
        fields: {
          di1: { block: 'regs', offset: 0 },
          do1: { block: 'outputs', offset: 1, type: 'bool' },
          do2: { block: 'outputs', offset: 1, type: 'bool' },
          do3: { block: 'outputs', offset: 0, type: 'bool' },
        },
        coils: { do1: { address: 8, writable: false }, do2: { address: 9 }, do4: { address: 10 } },
      }),
    ).toEqual([
      'coils: outputs are numbered from 1 without gaps, as on the board: output 3 (coil do3) is missing',
      'fields.di1.type: field di1 (input 1) must be type: bool',
      'coils.do1.writable: coil do1 (output 1) must be writable: the driver switches it',
      'fields.do1: output 1 needs a field do1 in a coils block reading coil address 8 (each poll reads the outputs back), e.g. blocks: { outputs: { table: coils, start: 8, length: 1 } }, fields: { do1: { block: outputs, offset: 0, type: bool } }',
      'fields.do4: output 4 needs a field do4 in a coils block reading coil address 10 (each poll reads the outputs back), e.g. blocks: { outputs: { table: coils, start: 10, length: 1 } }, fields: { do4: { block: outputs, offset: 0, type: bool } }',
      'coils: field do3 reads output 3, but there is no coil do3 to switch it: add coils: { do3: { address: <address> } }',
    ]);
  });
});
