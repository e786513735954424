/**
 * Device commands from the console: the actions that fit an alarm (its devices and its place) and
 * the route that runs one, confirmed and audited, through the gateway's one command path.
 *
 *   GET  /console/api/alarms/:id/actions                 -> {actions: [{device, family, command, args, role}]}
 *   POST /console/api/devices/:id/commands/:command       {args?, confirm: true, alarm?} -> {result}
 *
 * Roles: duty staff (reader) may run the duty commands (DUTY_COMMANDS: open or hold open a gate
 * and put it back, silence a siren, close a gas valve, cut a charging port or stop a charger);
 * admins may run every command the device's family offers it.
 */
import { randomUUID } from 'node:crypto';
import { handleCommandRequest } from '../commands/commands.js';
import type { Execute } from '../core/command-result.js';
import type { Alarm } from '../core/alarm-types.js';
import { type ApiRouter, HttpError, mayDo, optionalText, sendJson } from './console-router.js';

/** A device as the console knows it: the inventory entry with the commands it accepts. */
export interface SiteDevice {
  id: string;
  family: string;
  building?: string;
  zone?: string;
  tags: string[];
  commands: string[];
}

/** Commands duty staff may run; everything else a device offers is for admins. */
export const DUTY_COMMANDS: ReadonlySet<string> = new Set([
  'door.open',
  'door.always-open',
  'door.resume',
  'siren.off',
  'valve.close',
  'port.cut',
  'remote-stop',
]);

/**
 * Which devices' commands fit an alarm (data: a site may extend it). `near`: `self` = the
 * alarm's own devices, `zone` = devices in the same building and zone, `building` = the same
 * building. `args` values may be `{data.<field>}` of the alarm's triggering event; an action whose
 * argument is missing there is not offered.
 */
export interface ActionSpec {
  family: string;
  tag?: string;
  near: 'self' | 'zone' | 'building';
  commands: string[];
  args?: Record<string, string>;
}

export const ALARM_ACTIONS: ActionSpec[] = [
  { family: 'access-gate', near: 'building', commands: ['door.open', 'door.always-open', 'door.resume'] },
  { family: 'io-module', tag: 'siren', near: 'zone', commands: ['siren.off', 'siren.on'] },
  { family: 'gas-detector', near: 'self', commands: ['valve.close', 'valve.open'] },
  { family: 'ebike-pile', near: 'self', commands: ['port.cut', 'port.restore'], args: { port: '{data.port}' } },
  { family: 'ev-charger', near: 'self', commands: ['remote-stop'], args: { connectorId: '{data.connectorId}' } },
];

export interface OfferedAction {
  device: string;
  family: string;
  building?: string;
  zone?: string;
  command: string;
  args: Record<string, unknown>;
  role: 'reader' | 'admin';
}

const roleOf = (command: string): 'reader' | 'admin' => (DUTY_COMMANDS.has(command) ? 'reader' : 'admin');

/** The actions that fit an alarm, for a user of `role` (admin-only ones left out for readers). */
export function actionsFor(
  alarm: Pick<Alarm, 'device' | 'devices' | 'trigger'>,
  devices: readonly SiteDevice[],
  role: string,
  specs: readonly ActionSpec[] = ALARM_ACTIONS,
): OfferedAction[] {
  const own = new Set([alarm.device.id, ...alarm.devices]);
  const place = alarm.device;
  const near = (d: SiteDevice, how: ActionSpec['near']): boolean => {
    if (how === 'self') return own.has(d.id);
    if (own.has(d.id)) return true;
    if (!place.building || d.building !== place.building) return false;
    return how === 'building' || !place.zone || d.zone === place.zone;
  };
  const out: OfferedAction[] = [];
  for (const spec of specs) {
    const args = fillArgs(spec.args ?? {}, alarm.trigger.data);
    if (!args) continue;
    for (const d of devices) {
      if (d.family !== spec.family || (spec.tag && !d.tags.includes(spec.tag)) || !near(d, spec.near)) continue;
      for (const command of spec.commands) {
        if (!d.commands.includes(command) || !mayDo(role, roleOf(command))) continue;
        out.push({ device: d.id, family: d.family, building: d.building, zone: d.zone, command, args, role: roleOf(command) });
      }
    }
  }
  // The alarm's own place first: its zone, then the rest of the building.
  const rank = (a: OfferedAction) => (own.has(a.device) ? 0 : a.zone === place.zone ? 1 : 2);
  return out.sort((a, b) => rank(a) - rank(b));
}

function fillArgs(template: Record<string, string>, data: Record<string, unknown>): Record<string, unknown> | undefined {
  const args: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(template)) {
    const m = /^\{data\.(\w+)\}$/.exec(v);
    const value = m ? data[m[1]!] : v;
    if (value === undefined || value === null) return undefined;
    args[k] = value;
  }
  return args;
}

export interface ActionRoutesOptions {
  api: ApiRouter;
  devices: readonly SiteDevice[];
  execute: Execute;
  alarm(id: string): Alarm | undefined;
}

export function addActionRoutes(o: ActionRoutesOptions): void {
  const byId = new Map(o.devices.map((d) => [d.id, d]));
  o.api.add({
    method: 'GET',
    path: '/alarms/:id/actions',
    role: 'reader',
    handler: ({ res, params, session }) => {
      const alarm = o.alarm(params.id!);
      if (!alarm) throw new HttpError(404, `no alarm ${params.id}`);
      sendJson(res, 200, { actions: actionsFor(alarm, o.devices, session!.role) });
    },
  });
  o.api.add({
    method: 'POST',
    path: '/devices/:id/commands/:command',
    role: 'reader',
    handler: async ({ res, params, body, session, audit }) => {
      const { id, command } = params as { id: string; command: string };
      const device = byId.get(id);
      if (!device) throw new HttpError(404, `no device ${id} in this site`);
      if (!device.commands.includes(command)) {
        throw new HttpError(400, `device ${id} has no command ${command}; it accepts: ${device.commands.join(', ') || 'none'}`);
      }
      if (body.confirm !== true) {
        throw new HttpError(400, `confirm the command: send {"confirm": true} once the person confirmed ${command} on ${id}`);
      }
      const note = optionalText(body, 'alarm', 200);
      if (!mayDo(session!.role, roleOf(command))) {
        audit(command, id, `refused: role ${session!.role}`, note);
        throw new HttpError(403, `role ${session!.role} may not run ${command}; duty staff may run ${[...DUTY_COMMANDS].join(', ')}`);
      }
      const args = body.args ?? {};
      if (typeof args !== 'object' || args === null || Array.isArray(args)) throw new HttpError(400, 'args must be a JSON object');
      const result = await handleCommandRequest(o.execute, id, command, JSON.stringify({ id: randomUUID(), args }));
      audit(command, id, result.status === 'ok' ? 'ok' : `failed: ${result.error ?? result.status}`, note);
      if (result.status !== 'ok') throw new HttpError(502, `${command} on ${id} failed: ${result.error ?? result.status}`, { result });
      sendJson(res, 200, { result });
    },
  });
}
