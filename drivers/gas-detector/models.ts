/**
 * Gas detector models, as data in the shared register-map format (drivers/modbus/register-map.ts).
 * The driver reads a model's blocks with one request each per poll, and the simulator serves the
 * same model. A detector not listed here is described in the site file under `models:` of its
 * driver instance, in the same format, with the fields the family needs:
 *
 * - `lel`, `lowThreshold`, `highThreshold`: numbers, %LEL after scaling;
 * - `status`: an enumeration (`values:`) or status bits (`type: bits`, with `none:`) naming the
 *   states normal, low, high and fault;
 * - `faultCode` (optional): the vendor's fault code, 0 = none;
 * - coil `valve` (optional): the gas valve relay, ON = valve closed.
 *
 * Other fields are decoded and checked, not reported.
 */
import { z } from 'zod';
import { type Field, RegisterMap } from '../modbus/register-map.js';

export const GAS_STATUSES = ['normal', 'low', 'high', 'fault'] as const;
export type GasStatus = (typeof GAS_STATUSES)[number];

const LEVELS = { lel: 'the gas level', lowThreshold: 'the low alarm threshold', highThreshold: 'the high alarm threshold' } as const;
const STATES = GAS_STATUSES.join(', ');

export const GasModel = RegisterMap.superRefine((map, ctx) => {
  const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
  const plainNumber = (f: Field) => f.type !== 'bool' && f.type !== 'bits' && f.values === undefined;
  for (const [name, what] of Object.entries(LEVELS)) {
    const f = map.fields[name];
    if (!f) issue(['fields'], `a gas model needs field ${name} (${what}, %LEL after scaling)`);
    else if (!plainNumber(f)) issue(['fields', name, 'type'], `field ${name} must be a number (uint16, int16, uint32, int32 or float32, without values)`);
  }
  const faultCode = map.fields.faultCode;
  if (faultCode && (!plainNumber(faultCode) || faultCode.type === 'float32')) {
    issue(['fields', 'faultCode', 'type'], 'field faultCode must be an integer (uint16, int16, uint32 or int32, without values)');
  }
  const status = map.fields.status;
  if (!status) issue(['fields'], `a gas model needs field status (values: or type: bits naming ${STATES})`);
  else if (status.type === 'bits') {
    const names = [...Object.keys(status.bits ?? {}), status.none ?? 'none'];
    for (const n of names.filter((x) => !(GAS_STATUSES as readonly string[]).includes(x))) {
      issue(['fields', 'status', n === (status.none ?? 'none') ? 'none' : 'bits'], `status "${n}" is not a gas state; use ${STATES} (and none: normal)`);
    }
  } else if (!status.values) {
    issue(['fields', 'status'], `field status needs values: { <raw>: ${GAS_STATUSES.join(' | ')} } or type: bits`);
  } else {
    for (const [raw, n] of Object.entries(status.values)) {
      if (!(GAS_STATUSES as readonly string[]).includes(n)) issue(['fields', 'status', 'values', raw], `"${n}" is not a gas state; use ${STATES}`);
    }
  }
  for (const [name, coil] of Object.entries(map.coils)) {
    if (name !== 'valve') issue(['coils', name], 'a gas model has one coil, valve (the gas valve relay)');
    else if (!coil.writable) issue(['coils', name, 'writable'], 'the valve coil is written by valve.close / valve.open: writable must be true');
  }
});
export type GasModel = z.infer<typeof GasModel>;

/** The generic detector: 5 holding registers from 40001 (level and thresholds in 0.1 %LEL). */
const GENERIC = {
  blocks: { main: { table: 'holding', start: 0, length: 5 } },
  fields: {
    lel: { block: 'main', offset: 0, scale: 0.1, unit: '%LEL' },
    status: { block: 'main', offset: 1, values: { 0: 'normal', 1: 'low', 2: 'high', 3: 'fault' } },
    lowThreshold: { block: 'main', offset: 2, scale: 0.1, unit: '%LEL' },
    highThreshold: { block: 'main', offset: 3, scale: 0.1, unit: '%LEL' },
    faultCode: { block: 'main', offset: 4 },
  },
} as const;

/** The models the driver ships with; `generic-lel` is the default and the simulator's. */
export const GAS_MODELS: Readonly<Record<string, GasModel>> = {
  'generic-lel': GasModel.parse({
    description: 'Generic combustible-gas detector: 5 holding registers from 40001, valve relay on coil 00001',
    ...GENERIC,
    coils: { valve: { address: 0 } },
  }),
  'generic-lel-novalve': GasModel.parse({
    description: 'The generic detector without a valve relay: same registers, no valve commands',
    ...GENERIC,
  }),
};

/** The model of a device: the site's own (`models:` of its driver), else a shipped one. */
export function gasModelOf(site: Readonly<Record<string, GasModel>>, name: string): GasModel | undefined {
  return Object.hasOwn(site, name) ? site[name] : Object.hasOwn(GAS_MODELS, name) ? GAS_MODELS[name] : undefined;
}
