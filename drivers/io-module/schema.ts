/**
 * Config of one io-module driver instance: one Modbus bus, the DI/DO modules on it, and the
 * inputs and outputs wired to them. Each bound input or output is its own device (own id,
 * place and meaning); the core sees them as the instance's `devices`, grouped by module.
 */
import { z } from 'zod';
import { DeviceBase, DriverBase, PollConfig } from '../../gateway/devices/driver-api.js';
import { ModbusTransport } from '../modbus/modbus-transport.js';
import { inputsOf, IoModel, ioModelOf, MODELS, outputsOf } from './models.js';

export const IoModule = z.strictObject({
  /** Name of the module in this file (`module:` of its inputs and outputs) and in messages. */
  id: DeviceBase.shape.id,
  /** Modbus unit (slave) address: 1..247 (Modbus over Serial Line V1.02 §2.2). */
  unitId: z.number().int().min(1).max(247),
  /** A shipped model (drivers/io-module/models.ts) or one of `models:`. */
  model: z.string().min(1).default('generic-8di8do'),
  name: z.string().optional(),
});
export type IoModule = z.infer<typeof IoModule>;

export const IoInput = z.strictObject({
  ...DeviceBase.shape,
  module: z.string().min(1),
  /** Input number as printed on the board: DI1 = 1. */
  input: z.number().int().min(1),
  /** button: button.pressed / released; contact: contact.open / closed; input: input.changed. */
  role: z.enum(['button', 'contact', 'input']),
  /**
   * The input is active (button pressed, contact open, value true) when its bit reads 0:
   * normally-closed wiring, e.g. a door contact closed while the door is shut.
   */
  activeLow: z.boolean().default(false),
});
export type IoInput = z.infer<typeof IoInput>;

export const IoOutput = z.strictObject({
  ...DeviceBase.shape,
  module: z.string().min(1),
  /** Output number as printed on the board: DO1 = 1. */
  output: z.number().int().min(1),
  /** siren: sound-and-light alarm (also siren.on / siren.off); relay: anything else. */
  role: z.enum(['siren', 'relay']),
});
export type IoOutput = z.infer<typeof IoOutput>;

export type IoDevice = IoInput | IoOutput;

const IoModuleConfigObject = z.strictObject({
  ...DriverBase.shape,
  family: z.literal('io-module'),
  transport: ModbusTransport,
  ...PollConfig,
  /** Each module is read once per interval; short, since a button press lasts about a second. */
  pollIntervalMs: z.number().int().min(50).default(200),
  /** Response timeout of one request. */
  timeoutMs: z.number().int().min(20).max(30_000).default(300),
  /**
   * A change of an input is reported once it has been read in consecutive polls spanning at
   * least this long (so in at least two polls when > 0): a one-poll glitch is never reported.
   */
  debounceMs: z.number().int().min(0).max(60_000).default(100),
  /** Board models of this site, in addition to the shipped ones (register-map format, see models.ts). */
  models: z.record(DeviceBase.shape.id, IoModel).default({}),
  modules: z.array(IoModule).min(1),
  inputs: z.array(IoInput).default([]),
  outputs: z.array(IoOutput).default([]),
});

export const IoModuleConfig = IoModuleConfigObject.superRefine((cfg, ctx) => check(cfg, ctx), {
  // also when other keys are wrong, so that every problem is reported at once
  when: (p) => Array.isArray((p.value as { modules?: unknown } | undefined)?.modules),
}).transform((cfg) => ({ ...cfg, devices: devicesOf(cfg) }));
export type IoModuleConfig = z.output<typeof IoModuleConfig>;

type Parsed = z.output<typeof IoModuleConfigObject>;

/** The inputs and outputs as the core's devices, module by module (the driver reads a module once for all of them). */
function devicesOf(cfg: Parsed): IoDevice[] {
  return cfg.modules.flatMap((m) => [
    ...cfg.inputs.filter((i) => i.module === m.id),
    ...cfg.outputs.filter((o) => o.module === m.id),
  ]);
}

/** The model of a module: the site's own, else a shipped one. */
export const modelOf = (cfg: { models: Record<string, IoModel> }, name: string): IoModel | undefined => ioModelOf(cfg.models, name);

/** A list as written, or none where the file has something else (reported by the schema at its path). */
const listOf = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** Cross-references; entries may be unvalidated here, so only well-typed keys are compared. */
function check(raw: Parsed, ctx: z.RefinementCtx): void {
  const cfg = raw as Partial<Parsed>;
  const models = (cfg.models ?? {}) as Record<string, IoModel>;
  const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
  for (const name of Object.keys(models)) {
    if (Object.hasOwn(MODELS, name)) issue(['models', name], `"${name}" is a built-in model; give your model another name`);
  }
  const known = [...new Set([...Object.keys(MODELS), ...Object.keys(models)])].join(', ');
  const modules = new Map<string, IoModel | undefined>();
  const units = new Map<number, number>();
  const ids = new Map<string, string>();
  const claim = (id: unknown, where: string, path: (string | number)[]) => {
    if (typeof id !== 'string') return;
    const first = ids.get(id);
    if (first) issue(path, `id "${id}" is already used by ${first}; give each module, input and output its own id`);
    else ids.set(id, where);
  };
  listOf(cfg.modules).forEach((entry, i) => {
    const m = (entry ?? {}) as { id?: unknown; unitId?: unknown; model?: unknown };
    claim(m.id, `modules[${i}]`, ['modules', i, 'id']);
    const model = typeof m.model === 'string' ? ioModelOf(models, m.model) : undefined;
    if (typeof m.model === 'string' && !model) {
      issue(['modules', i, 'model'], `unknown model "${m.model}"; known models: ${known} (or describe it under models:)`);
    }
    if (typeof m.id === 'string') modules.set(m.id, model);
    if (typeof m.unitId === 'number') {
      const first = units.get(m.unitId);
      if (first === undefined) units.set(m.unitId, i);
      else issue(['modules', i, 'unitId'], `unit id ${m.unitId} is already used by modules[${first}] on this bus; every module on one bus needs its own unit id`);
    }
  });
  for (const kind of ['inputs', 'outputs'] as const) {
    const key = kind === 'inputs' ? 'input' : 'output';
    const bound = new Map<string, number>();
    listOf(cfg[kind]).forEach((entry, i) => {
      const p = (entry ?? {}) as { id?: unknown; module?: unknown; input?: unknown; output?: unknown };
      claim(p.id, `${kind}[${i}]`, [kind, i, 'id']);
      const n = p[key];
      if (typeof p.module !== 'string') return;
      if (!modules.has(p.module)) {
        issue([kind, i, 'module'], `no module "${p.module}" on this bus; modules: ${[...modules.keys()].join(', ') || 'none'}`);
        return;
      }
      const model = modules.get(p.module);
      // a site model with problems of its own (reported at its path) has no points to check against
      if (typeof n !== 'number' || !model || !IoModel.safeParse(model).success) return;
      const count = (kind === 'inputs' ? inputsOf : outputsOf)(model).length;
      if (n > count) {
        const has = count ? `${count} ${kind} (1..${count})` : `no ${kind}`;
        issue([kind, i, key], `module ${p.module} has ${has}; ${key} ${n} does not exist`);
      }
      const spot = `${p.module}/${n}`;
      const first = bound.get(spot);
      if (first === undefined) bound.set(spot, i);
      else issue([kind, i, key], `${key} ${n} of module ${p.module} is already bound by ${kind}[${first}]`);
    });
  }
}
