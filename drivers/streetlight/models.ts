/**
 * Streetlight controller models, as data in the shared register-map format
 * (drivers/modbus/register-map.ts). A controller is one Modbus unit with N lamp channels; lamp n
 * is described by fields and a coil named `lamp<n>-<what>`:
 *
 * - `lamp<n>-on`: a bool field (the lamp's relay, true = on) and the writable coil of the same
 *   name (FC5, Modbus Application Protocol V1.1b3 §6.5);
 * - `lamp<n>-level`: dim level 0–100 %, a one-register holding field written with FC6 (§6.6);
 * - `lamp<n>-voltage` (V), `lamp<n>-current` (A), `lamp<n>-power` (W), `lamp<n>-energy` (Wh,
 *   the lamp's lifetime meter, usually uint32): numbers after scaling;
 * - `lamp<n>-failure`: a bool (the failure status bit), or a `bits` field whose set bit names
 *   the reason (e.g. open-circuit, short-circuit).
 *
 * The controller has one `fault` field: its fault code, 0 = none. The lamps of a model are the
 * n of its `lamp<n>-on` fields, each of which must have them all.
 */
import { z } from 'zod';
import { RegisterMap } from '../modbus/register-map.js';

export const LAMP_FIELDS = ['on', 'level', 'voltage', 'current', 'power', 'energy', 'failure'] as const;

/** The lamp numbers of a map: the n of its `lamp<n>-on` fields, ascending. */
export function lampsOf(map: RegisterMap): number[] {
  return Object.keys(map.fields)
    .map((k) => /^lamp([1-9][0-9]*)-on$/.exec(k)?.[1])
    .filter((n): n is string => n !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
}

const isNumber = (f: RegisterMap['fields'][string]) => f.type !== 'bool' && f.type !== 'bits' && !f.values;

export const LightModel = RegisterMap.superRefine((map, ctx) => {
  const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
  const lamps = lampsOf(map);
  if (lamps.length === 0) issue(['fields'], 'a controller model needs at least one lamp: fields lamp1-on, lamp1-level, ... (see models.ts)');
  const fault = map.fields.fault;
  if (!fault || !isNumber(fault)) issue(['fields', 'fault'], 'a controller model needs a number field fault (the controller fault code, 0 = none)');
  for (const n of lamps) {
    for (const what of LAMP_FIELDS) {
      const name = `lamp${n}-${what}`;
      const f = map.fields[name];
      if (!f) {
        issue(['fields'], `lamp ${n}: missing field ${name}`);
        continue;
      }
      if (what === 'on') {
        if (f.type !== 'bool') issue(['fields', name, 'type'], `field ${name} must be type bool (lamp on = true)`);
        if (!map.coils[name]?.writable) issue(['coils', name], `lamp ${n}: needs a writable coil ${name} (the lamp relay, written by light.on / light.off)`);
      } else if (what === 'failure') {
        if (f.type !== 'bool' && f.type !== 'bits') issue(['fields', name, 'type'], `field ${name} must be type bool or bits (the failure status bit)`);
      } else if (!isNumber(f)) {
        issue(['fields', name, 'type'], `field ${name} must be a number (uint16, int16, uint32, int32 or float32, without values)`);
      } else if (what === 'level') {
        const b = map.blocks[f.block];
        if (b?.table !== 'holding' || (f.type !== 'uint16' && f.type !== 'int16')) {
          issue(['fields', name], `field ${name} must be a one-register (uint16 or int16) field in a holding block: light.dim writes it with FC6`);
        }
      }
    }
  }
});
export type LightModel = z.infer<typeof LightModel>;

/** Input registers per lamp in the shipped models (6 used, 2 spare). */
const STRIDE = 8;

/**
 * The shipped layout for N lamps: input register 30001 controller fault code; lamp n at input
 * registers 30001 + 8n: voltage 0.1 V, current 0.001 A, power 0.1 W, energy Wh (uint32, high
 * word first), status (bit 0 open circuit, bit 1 short circuit, bit 2 driver fault); holding
 * register 40000 + n: dim level %; coil 00000 + n: lamp relay.
 */
function controller(lamps: number, description: string) {
  const fields: Record<string, unknown> = { fault: { block: 'status', offset: 0 } };
  const coils: Record<string, unknown> = {};
  for (let n = 1; n <= lamps; n++) {
    const at = n * STRIDE;
    fields[`lamp${n}-voltage`] = { block: 'status', offset: at, scale: 0.1, unit: 'V' };
    fields[`lamp${n}-current`] = { block: 'status', offset: at + 1, scale: 0.001, unit: 'A' };
    fields[`lamp${n}-power`] = { block: 'status', offset: at + 2, scale: 0.1, unit: 'W' };
    fields[`lamp${n}-energy`] = { block: 'status', offset: at + 3, type: 'uint32', unit: 'Wh' };
    fields[`lamp${n}-failure`] = {
      block: 'status',
      offset: at + 5,
      type: 'bits',
      bits: { 'open-circuit': 0, 'short-circuit': 1, 'driver-fault': 2 },
    };
    fields[`lamp${n}-level`] = { block: 'levels', offset: n - 1, unit: '%' };
    fields[`lamp${n}-on`] = { block: 'relays', offset: n - 1, type: 'bool' };
    coils[`lamp${n}-on`] = { address: n - 1 };
  }
  return LightModel.parse({
    description,
    blocks: {
      status: { table: 'input', start: 0, length: (lamps + 1) * STRIDE },
      levels: { table: 'holding', start: 0, length: lamps },
      relays: { table: 'coils', start: 0, length: lamps },
    },
    fields,
    coils,
  });
}

/** The models the driver ships with; `single-lamp` is the default. */
export const LIGHT_MODELS: Readonly<Record<string, LightModel>> = {
  'single-lamp': controller(1, 'Single-lamp controller: status from 30001 (fault code, then lamp 1 at 30009), level 40001, relay 00001'),
  'group-4': controller(4, 'Four-channel group controller: status from 30001 (fault code, lamp n at 30001 + 8n), levels 40001-40004, relays 00001-00004'),
};

/** The model of a controller: the site's own (`models:` of its driver), else a shipped one. */
export function lightModelOf(site: Readonly<Record<string, LightModel>>, name: string): LightModel | undefined {
  return Object.hasOwn(site, name) ? site[name] : Object.hasOwn(LIGHT_MODELS, name) ? LIGHT_MODELS[name] : undefined;
}
