import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { GAS_MODELS, GasModel } from './models.js';

const DOC = readFileSync(new URL('../../docs/modbus-device-maps.md', import.meta.url), 'utf8');
/** The YAML examples of the doc that hold gas models (the format sketch has placeholders; other families' examples name their family). */
const examples = [...DOC.matchAll(/```yaml\n([\s\S]*?)```/g)]
  .map((m) => parse(m[1]!) as { models?: Record<string, unknown>; drivers?: { family?: string; models: Record<string, unknown> }[] })
  .filter((doc) => (doc.drivers?.[0]?.family ?? 'gas-detector') === 'gas-detector')
  .map((doc) => doc.models ?? doc.drivers?.[0]?.models)
  .filter((models) => models && !('<model name>' in models));

describe('gas models', () => {
  it('the models of docs/modbus-device-maps.md are valid gas models', () => {
    const names = examples.flatMap((models) => Object.keys(models!));
    expect(names).toEqual(['kitchen-gd', 'msa-ultima-x3']);
    for (const models of examples) {
      for (const [name, model] of Object.entries(models!)) {
        expect(GasModel.safeParse(model).error?.issues, name).toBeUndefined();
      }
    }
  });

  it('refuses a status that does not name gas states, and a coil other than the valve', () => {
    const generic = GAS_MODELS['generic-lel']!;
    const bad = {
      ...generic,
      fields: { ...generic.fields, status: { block: 'main', offset: 1, type: 'bits', bits: { alarm: 1 } } },
      coils: { pump: { address: 1 } },
    };
    expect(GasModel.safeParse(bad).error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([
      ['fields.status.bits', expect.stringMatching(/status "alarm" is not a gas state/)],
      ['fields.status.none', expect.stringMatching(/status "none" is not a gas state; .*none: normal/)],
      ['coils.pump', 'a gas model has one coil, valve (the gas valve relay)'],
    ]);
  });
});
