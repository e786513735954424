/**
 * Pure normalisation of one poll of a pile: field values read → per-port readings → the events
 * they cause and the new state. No I/O, no clock: `now` is passed in.
 *
 * Per port: `pile.port.state` on a state or relay change; `pile.port.reading` on any change or
 * every reportIntervalMs; `pile.session.started` on entering charging, `pile.session.stopped`
 * on leaving charging/full for idle or fault, with the energy of the session (difference of the
 * port's Wh meter); `pile.overcurrent` / `pile.overtemperature` / `pile.fault` on entering that
 * condition (the fault code's meaning, or current above the limit, or temperature at or above
 * overtemperatureC).
 */
import type { DeviceEvent, EventKind, Severity } from '../../gateway/devices/driver-api.js';
import type { FieldValues } from '../modbus/register-map.js';
import { PORT_STATES, type PortState } from './models.js';
import type { FaultKind } from './schema.js';

export interface PortReading {
  port: number;
  state: PortState;
  amps: number;
  watts: number;
  energyWh: number;
  temperatureC: number;
  limitAmps: number;
  relayOn: boolean;
  faultCode: number;
}
export interface PortMemory {
  /** Absent before the first reading (a session may be known from the driver's store). */
  reading?: PortReading;
  reportedAt: number;
  /** The meter (Wh) at the start of the running session, if one runs. */
  sessionStartWh?: number;
  alarms: FaultKind[];
}
export interface Policy {
  deviceId: string;
  reportIntervalMs: number;
  overtemperatureC: number;
  faultCodes: Readonly<Record<string, FaultKind>>;
}

/** Field values of one pile → its port readings, or the reason they cannot be used. */
export function portReadings(v: FieldValues, ports: readonly number[]): PortReading[] | string {
  const out: PortReading[] = [];
  for (const port of ports) {
    const get = (what: string) => v[`port${port}-${what}`];
    const r = {
      port,
      state: get('state') as PortState,
      amps: get('current') as number,
      watts: get('power') as number,
      energyWh: get('energy') as number,
      temperatureC: get('temperature') as number,
      limitAmps: get('limit') as number,
      relayOn: get('relay') as boolean,
      faultCode: get('fault') as number,
    };
    if (!PORT_STATES.includes(r.state)) return `port ${port}: state "${String(r.state)}" is not one of ${PORT_STATES.join(', ')}`;
    if (r.amps < 0 || r.watts < 0 || r.energyWh < 0 || r.limitAmps < 0) return `port ${port}: current, power, energy and limit must not be negative`;
    if (!Number.isInteger(r.faultCode)) return `port ${port}: fault code ${r.faultCode} is not an integer`;
    out.push(r);
  }
  return out;
}

/** The alarm conditions a reading shows. */
export function conditions(r: PortReading, p: Policy): FaultKind[] {
  const coded = r.faultCode === 0 ? undefined : (p.faultCodes[String(r.faultCode)] ?? 'fault');
  const out: FaultKind[] = [];
  if (coded === 'overcurrent' || r.amps > r.limitAmps) out.push('overcurrent');
  if (coded === 'overtemperature' || r.temperatureC >= p.overtemperatureC) out.push('overtemperature');
  if (coded === 'fault' || (r.state === 'fault' && out.length === 0)) out.push('fault');
  return out;
}

const ALARM_TYPE: Record<FaultKind, string> = { overcurrent: 'pile.overcurrent', overtemperature: 'pile.overtemperature', fault: 'pile.fault' };
const SEVERITY: Record<FaultKind, Severity> = { overcurrent: 'critical', overtemperature: 'critical', fault: 'major' };

export function normalisePort(prev: PortMemory | undefined, r: PortReading, now: Date, p: Policy): { memory: PortMemory; events: DeviceEvent[] } {
  const events: DeviceEvent[] = [];
  const event = (type: string, kind: EventKind, severity: Severity, data: object) =>
    events.push({ deviceId: p.deviceId, type, kind, severity, deviceTime: null, receivedAt: now, data: { ...data } });
  const t = now.getTime();
  const was = prev?.reading;
  const alarms = conditions(r, p);
  for (const a of alarms) if (!prev?.alarms.includes(a)) event(ALARM_TYPE[a], 'alarm', SEVERITY[a], r);

  let sessionStartWh = prev?.sessionStartWh;
  const live = (s: PortState | undefined) => s === 'charging' || s === 'full';
  if (sessionStartWh !== undefined && !live(r.state)) {
    const reason = alarms[0] ?? (!r.relayOn && was?.relayOn ? 'cut' : was?.state === 'full' ? 'full' : 'unplugged');
    event('pile.session.stopped', 'event', 'info', { port: r.port, energyWh: Math.max(0, r.energyWh - sessionStartWh), reason });
    sessionStartWh = undefined;
  }
  if (r.state === 'charging' && sessionStartWh === undefined) {
    sessionStartWh = r.energyWh;
    event('pile.session.started', 'event', 'info', { port: r.port, energyWh: r.energyWh });
  }
  if (was?.state !== r.state || was.relayOn !== r.relayOn) event('pile.port.state', 'event', 'info', r);
  const changed = !was || (Object.keys(r) as (keyof PortReading)[]).some((k) => r[k] !== was[k]);
  const due = changed || t - (prev?.reportedAt ?? 0) >= p.reportIntervalMs;
  if (due) event('pile.port.reading', 'telemetry', 'info', r);
  return {
    memory: { reading: r, reportedAt: due ? t : (prev?.reportedAt ?? t), alarms, ...(sessionStartWh !== undefined ? { sessionStartWh } : {}) },
    events,
  };
}
