import { describe, expect, it } from 'vitest';
import { ioModule, MODELS } from './index.js';
import { IoModuleConfig } from './schema.js';

const base = {
  family: 'io-module',
  id: 'io-bus-1',
  transport: { type: 'tcp' },
  modules: [
    { id: 'io-a', unitId: 1 },
    { id: 'io-b', unitId: 2, model: 'site-4di' },
  ],
  models: {
    'site-4di': {
      blocks: { inputs: { table: 'holding', start: 100, length: 1 } },
      fields: Object.fromEntries([1, 2, 3, 4].map((n) => [`di${n}`, { block: 'inputs', offset: 0, type: 'bool', bit: n - 1 }])),
    },
  },
};
const issues = (input: unknown) =>
  (IoModuleConfig.safeParse(input).error?.issues ?? []).map((i) => `${i.path.join('.')}: ${i.message}`);

describe('io-module config', () => {
  it('fills the defaults and lists the inputs and outputs as devices, module by module', () => {
    const cfg = IoModuleConfig.parse({
      ...base,
      inputs: [
        { id: 'sos-b', module: 'io-b', input: 4, role: 'button' },
        { id: 'door-a', module: 'io-a', input: 8, role: 'contact', activeLow: true },
      ],
      outputs: [{ id: 'siren-a', module: 'io-a', output: 1, role: 'siren', tags: ['siren'] }],
    });
    expect(cfg).toMatchObject({ pollIntervalMs: 200, timeoutMs: 300, debounceMs: 100, offlineAfterFailures: 3 });
    expect(cfg.modules[0]?.model).toBe('generic-8di8do');
    expect(cfg.models['site-4di']?.fields.di4).toMatchObject({ block: 'inputs', offset: 0, type: 'bool', bit: 3 });
    expect(cfg.models['site-4di']?.coils).toEqual({});
    expect(cfg.devices.map((d) => d.id)).toEqual(['door-a', 'siren-a', 'sos-b']);
    expect(cfg.devices[0]).toMatchObject({ activeLow: true, tags: [] });
  });

  it('modules, inputs or outputs that are not lists are reported at their path, not a crash of the cross-checks', () => {
    for (const wrong of [{ modules: 'io-a' }, { inputs: { id: 'x' } }, { outputs: 7 }]) {
      const key = Object.keys(wrong)[0]!;
      expect(issues({ ...base, ...wrong }).filter((i) => i.startsWith(`${key}: `)), key).toHaveLength(1);
    }
  });

  it('lists every wrong reference at once, with what to do', () => {
    expect(
      issues({
        ...base,
        modules: [...base.modules, { id: 'io-c', unitId: 2, model: 'nope' }],
        models: { ...base.models, 'generic-16di': MODELS['generic-16di'] },
        inputs: [
          { id: 'x', module: 'io-z', input: 1, role: 'button' },
          { id: 'y', module: 'io-b', input: 5, role: 'contact' },
          { id: 'z', module: 'io-a', input: 1, role: 'input' },
          { id: 'w', module: 'io-a', input: 1, role: 'input' },
        ],
        outputs: [
          { id: 'z', module: 'io-b', output: 1, role: 'relay' },
          { id: 'v', module: 'io-a', output: 9, role: 'horn' },
        ],
      }),
    ).toEqual([
      'outputs.1.role: Invalid option: expected one of "siren"|"relay"',
      'models.generic-16di: "generic-16di" is a built-in model; give your model another name',
      'modules.2.model: unknown model "nope"; known models: generic-8di8do, generic-8di8do-register, generic-16di, site-4di (or describe it under models:)',
      'modules.2.unitId: unit id 2 is already used by modules[1] on this bus; every module on one bus needs its own unit id',
      'inputs.0.module: no module "io-z" on this bus; modules: io-a, io-b, io-c',
      'inputs.1.input: module io-b has 4 inputs (1..4); input 5 does not exist',
      'inputs.3.input: input 1 of module io-a is already bound by inputs[2]',
      'outputs.0.id: id "z" is already used by inputs[2]; give each module, input and output its own id',
      'outputs.0.output: module io-b has no outputs; output 1 does not exist',
      'outputs.1.output: module io-a has 8 outputs (1..8); output 9 does not exist',
    ]);
  });

  it('offers output commands to outputs only, siren commands to sirens only', () => {
    const cfg = IoModuleConfig.parse({
      ...base,
      inputs: [{ id: 'sos', module: 'io-a', input: 1, role: 'button' }],
      outputs: [
        { id: 'siren', module: 'io-a', output: 1, role: 'siren' },
        { id: 'relay', module: 'io-a', output: 2, role: 'relay' },
      ],
    });
    const commands = cfg.devices.map((d) => [d.id, ioModule.commandsFor?.(d)]);
    expect(Object.fromEntries(commands)).toEqual({
      sos: [],
      siren: ['output.on', 'output.off', 'output.pulse', 'siren.on', 'siren.off'],
      relay: ['output.on', 'output.off', 'output.pulse'],
    });
  });
});
