/**
 * Digital I/O module (DI/DO board) models, as data in the shared register-map format
 * (drivers/modbus/register-map.ts). Inputs and outputs are numbered from 1, as printed on the
 * board (DI1..DIn, DO1..DOn):
 *
 * - input n is the bool field `di<n>`: a bit of a `discrete` block (FC2, Modbus Application
 *   Protocol V1.1b3 §6.2), or bit `bit` of a `holding` / `input` register (FC3 / FC4, §6.3-§6.4);
 * - output n is the writable coil `do<n>` (written with FC5, §6.5) and the bool field `do<n>` of
 *   a `coils` block at the same address (read with FC1, §6.1), through which every poll reads the
 *   outputs back.
 *
 * The driver reads a module's blocks once per poll (one request each) for all its points; the
 * simulator serves the same map. Other fields and coils of a model are decoded and checked but
 * not reported. A board not listed here is described under `models:` of the driver.
 */
import { z } from 'zod';
import { type Block, RegisterMap } from '../modbus/register-map.js';

/** The numbers n of the keys `<prefix><n>` of a record, ascending. */
function numbered(record: object, prefix: 'di' | 'do'): number[] {
  const re = new RegExp(`^${prefix}([1-9][0-9]*)$`);
  return Object.keys(record)
    .map((k) => re.exec(k)?.[1])
    .filter((n): n is string => n !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
}

/** The inputs of a model: the n of its `di<n>` fields. */
export const inputsOf = (map: RegisterMap): number[] => numbered(map.fields, 'di');
/** The outputs of a model: the n of its `do<n>` coils. */
export const outputsOf = (map: RegisterMap): number[] => numbered(map.coils, 'do');

/** PDU address of the bit a bool field in a bit block reads. */
const addressOf = (block: Block, offset: number) => block.start + offset;

export const IoModel = RegisterMap.superRefine((map, ctx) => {
  const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
  const inputs = inputsOf(map);
  const outputs = outputsOf(map);
  if (inputs.length + outputs.length === 0) {
    issue(['fields'], 'a board model needs inputs (fields di1, di2, ...) or outputs (coils do1, do2, ... with fields do1, do2, ...); see drivers/io-module/models.ts');
  }
  for (const [what, ns, key, name] of [['input', inputs, 'fields', 'field di'], ['output', outputs, 'coils', 'coil do']] as const) {
    const gap = ns.findIndex((n, i) => n !== i + 1) + 1;
    if (gap > 0) issue([key], `${what}s are numbered from 1 without gaps, as on the board: ${what} ${gap} (${name}${gap}) is missing`);
  }
  for (const n of inputs) {
    if (map.fields[`di${n}`]!.type !== 'bool') issue(['fields', `di${n}`, 'type'], `field di${n} (input ${n}) must be type: bool`);
  }
  for (const n of outputs) {
    const name = `do${n}`;
    const coil = map.coils[name]!;
    if (!coil.writable) issue(['coils', name, 'writable'], `coil ${name} (output ${n}) must be writable: the driver switches it`);
    const f = map.fields[name];
    const block = f && Object.hasOwn(map.blocks, f.block) ? map.blocks[f.block] : undefined;
    if (!f || !block || block.table !== 'coils' || addressOf(block, f.offset) !== coil.address) {
      issue(
        ['fields', name],
        `output ${n} needs a field ${name} in a coils block reading coil address ${coil.address} (each poll reads the outputs back), e.g. blocks: { outputs: { table: coils, start: ${coil.address}, length: 1 } }, fields: { ${name}: { block: outputs, offset: 0, type: bool } }`,
      );
    }
  }
  for (const n of numbered(map.fields, 'do')) {
    if (!Object.hasOwn(map.coils, `do${n}`)) issue(['coils'], `field do${n} reads output ${n}, but there is no coil do${n} to switch it: add coils: { do${n}: { address: <address> } }`);
  }
});
export type IoModel = z.infer<typeof IoModel>;

/**
 * A board with `inputs` inputs and `outputs` relay outputs: inputs as discrete inputs from
 * `start` (or packed 16 per register, bit 0 = the lowest input, in an input register), outputs
 * on the coils from `coilStart`.
 */
function board(o: { description: string; inputs: number; packed?: boolean; start?: number; outputs?: number; coilStart?: number }) {
  const { inputs, outputs = 0, start = 0, coilStart = 0 } = o;
  const fields: Record<string, unknown> = {};
  const coils: Record<string, unknown> = {};
  const blocks: Record<string, unknown> = {};
  if (inputs > 0) {
    blocks.inputs = o.packed ? { table: 'input', start, length: Math.ceil(inputs / 16) } : { table: 'discrete', start, length: inputs };
  }
  for (let n = 1; n <= inputs; n++) {
    const i = n - 1;
    fields[`di${n}`] = o.packed ? { block: 'inputs', offset: i >> 4, type: 'bool', bit: i & 15 } : { block: 'inputs', offset: i, type: 'bool' };
  }
  if (outputs > 0) blocks.outputs = { table: 'coils', start: coilStart, length: outputs };
  for (let n = 1; n <= outputs; n++) {
    fields[`do${n}`] = { block: 'outputs', offset: n - 1, type: 'bool' };
    coils[`do${n}`] = { address: coilStart + n - 1 };
  }
  return IoModel.parse({ description: o.description, blocks, fields, coils });
}

/** The models the driver ships with; `generic-8di8do` is the default and the simulator's. */
export const MODELS: Readonly<Record<string, IoModel>> = {
  'generic-8di8do': board({
    description: '8 inputs as discrete inputs 10001-10008 (FC2), 8 relay outputs on coils 00001-00008',
    inputs: 8,
    outputs: 8,
  }),
  'generic-8di8do-register': board({
    description: '8 inputs packed in input register 30001 (FC4, bit 0 = DI1), 8 relay outputs on coils 00001-00008',
    inputs: 8,
    packed: true,
    outputs: 8,
  }),
  'generic-16di': board({ description: '16 inputs as discrete inputs 10001-10016 (FC2), no outputs', inputs: 16 }),
};

/** The model of a module: the site's own (`models:` of its driver), else a shipped one. */
export function ioModelOf(site: Readonly<Record<string, IoModel>>, name: string): IoModel | undefined {
  return Object.hasOwn(site, name) ? site[name] : Object.hasOwn(MODELS, name) ? MODELS[name] : undefined;
}
