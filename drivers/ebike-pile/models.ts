/**
 * E-bike charging pile models, as data in the shared register-map format
 * (drivers/modbus/register-map.ts). A pile is one Modbus unit with N ports; port n is described
 * by fields and a coil named `port<n>-<what>`:
 *
 * - `port<n>-state`: enumeration (`values:`) naming idle, charging, full, fault;
 * - `port<n>-current` (A), `port<n>-power` (W), `port<n>-energy` (Wh, the port's lifetime
 *   meter, usually uint32), `port<n>-temperature` (°C), `port<n>-fault` (fault code, 0 = none),
 *   `port<n>-limit` (overcurrent limit, A): numbers after scaling;
 * - `port<n>-relay`: a bool field (the output relay, ON = power to the port) and the writable
 *   coil of the same name (FC5, Modbus Application Protocol V1.1b3 §6.5).
 *
 * `port<n>-limit` in a one-register holding field is written with FC6 (§6.6) by `port.set-limit`.
 * The ports of a model are the n of its `port<n>-state` fields, each of which must have them all.
 */
import { z } from 'zod';
import { RegisterMap } from '../modbus/register-map.js';

export const PORT_STATES = ['idle', 'charging', 'full', 'fault'] as const;
export type PortState = (typeof PORT_STATES)[number];
export const PORT_FIELDS = ['state', 'current', 'power', 'energy', 'temperature', 'fault', 'limit', 'relay'] as const;

/** The port numbers of a map: the n of its `port<n>-state` fields, ascending. */
export function portsOf(map: RegisterMap): number[] {
  return Object.keys(map.fields)
    .map((k) => /^port([1-9][0-9]*)-state$/.exec(k)?.[1])
    .filter((n): n is string => n !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
}

export const EbikeModel = RegisterMap.superRefine((map, ctx) => {
  const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
  const ports = portsOf(map);
  if (ports.length === 0) issue(['fields'], 'a pile model needs at least one port: fields port1-state, port1-current, ... (see models.ts)');
  for (const n of ports) {
    for (const what of PORT_FIELDS) {
      const name = `port${n}-${what}`;
      const f = map.fields[name];
      if (!f) {
        issue(['fields'], `port ${n}: missing field ${name}`);
        continue;
      }
      if (what === 'state') {
        const bad = Object.entries(f.values ?? {}).filter(([, v]) => !(PORT_STATES as readonly string[]).includes(v));
        if (!f.values) issue(['fields', name, 'values'], `field ${name} needs values: { <raw>: ${PORT_STATES.join(' | ')} }`);
        for (const [raw, v] of bad) issue(['fields', name, 'values', raw], `"${v}" is not a port state; use ${PORT_STATES.join(', ')}`);
      } else if (what === 'relay') {
        if (f.type !== 'bool') issue(['fields', name, 'type'], `field ${name} must be type bool (relay on = true)`);
        const coil = map.coils[name];
        if (!coil?.writable) issue(['coils', name], `port ${n}: needs a writable coil ${name} (the port's relay, written by port.cut / port.restore)`);
      } else if (f.type === 'bool' || f.type === 'bits' || f.values) {
        issue(['fields', name, 'type'], `field ${name} must be a number (uint16, int16, uint32, int32 or float32, without values)`);
      }
    }
  }
});
export type EbikeModel = z.infer<typeof EbikeModel>;

/** Input registers per port in the generic model (7 used, 1 spare). */
const STRIDE = 8;

/**
 * The generic 10-port pile: per port n (0-based i = n - 1) input registers from 30001 + 8i:
 * state, current 0.01 A, power W, energy Wh (uint32, high word first), temperature 0.1 °C
 * (int16), fault code; holding register 40001 + i: overcurrent limit 0.1 A; coil 00001 + i: relay.
 */
function generic(ports: number) {
  const fields: Record<string, unknown> = {};
  const coils: Record<string, unknown> = {};
  for (let n = 1; n <= ports; n++) {
    const at = (n - 1) * STRIDE;
    fields[`port${n}-state`] = { block: 'ports', offset: at, values: { 0: 'idle', 1: 'charging', 2: 'full', 3: 'fault' } };
    fields[`port${n}-current`] = { block: 'ports', offset: at + 1, scale: 0.01, unit: 'A' };
    fields[`port${n}-power`] = { block: 'ports', offset: at + 2, unit: 'W' };
    fields[`port${n}-energy`] = { block: 'ports', offset: at + 3, type: 'uint32', unit: 'Wh' };
    fields[`port${n}-temperature`] = { block: 'ports', offset: at + 5, type: 'int16', scale: 0.1, unit: '°C' };
    fields[`port${n}-fault`] = { block: 'ports', offset: at + 6 };
    fields[`port${n}-limit`] = { block: 'limits', offset: n - 1, scale: 0.1, unit: 'A' };
    fields[`port${n}-relay`] = { block: 'relays', offset: n - 1, type: 'bool' };
    coils[`port${n}-relay`] = { address: n - 1 };
  }
  return {
    blocks: {
      ports: { table: 'input', start: 0, length: ports * STRIDE },
      limits: { table: 'holding', start: 0, length: ports },
      relays: { table: 'coils', start: 0, length: ports },
    },
    fields,
    coils,
  };
}

/** The models the driver ships with; `generic-10port` is the default and the simulator's. */
export const EBIKE_MODELS: Readonly<Record<string, EbikeModel>> = {
  'generic-10port': EbikeModel.parse({
    description: 'Generic 10-port e-bike pile: 80 input registers from 30001 (8 per port), limits from 40001, relays from 00001',
    ...generic(10),
  }),
};

/** The model of a pile: the site's own (`models:` of its driver), else a shipped one. */
export function ebikeModelOf(site: Readonly<Record<string, EbikeModel>>, name: string): EbikeModel | undefined {
  return Object.hasOwn(site, name) ? site[name] : Object.hasOwn(EBIKE_MODELS, name) ? EBIKE_MODELS[name] : undefined;
}
