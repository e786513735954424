/**
 * Pure normalisation of one poll of a streetlight controller: field values read → per-lamp
 * readings → the events they cause. No I/O, no clock: `now` is passed in.
 *
 * Per lamp: `light.state` when it switches or its level changes; `light.reading` on any change
 * or every reportIntervalMs; `light.failure` when its failure status sets, `light.failure.cleared`
 * when it clears. Per controller: `light.controller.fault` when its fault code changes to another
 * non-zero code, `light.controller.fault.cleared` when it is back to 0.
 */
import type { DeviceEvent } from '../../gateway/devices/driver-api.js';
import type { FieldValues } from '../modbus/register-map.js';

export interface LampReading {
  lamp: number;
  on: boolean;
  level: number;
  volts: number;
  amps: number;
  watts: number;
  energyWh: number;
  failure: string;
}
export interface ControllerMemory {
  lamps: Map<number, { reading: LampReading; reportedAt: number }>;
  fault: number;
}

/** Field values of one controller → its lamp readings and fault code, or the reason they cannot be used. */
export function controllerReading(v: FieldValues, lamps: readonly number[]): { lamps: LampReading[]; fault: number } | string {
  const out: LampReading[] = [];
  for (const lamp of lamps) {
    const get = (what: string) => v[`lamp${lamp}-${what}`];
    const failure = get('failure');
    const r: LampReading = {
      lamp,
      on: get('on') as boolean,
      level: get('level') as number,
      volts: get('voltage') as number,
      amps: get('current') as number,
      watts: get('power') as number,
      energyWh: get('energy') as number,
      failure: failure === true ? 'failure' : failure === false ? 'none' : String(failure),
    };
    if (r.level < 0 || r.level > 100) return `lamp ${lamp}: level ${r.level} is not 0..100 %`;
    if (r.volts < 0 || r.amps < 0 || r.watts < 0 || r.energyWh < 0) return `lamp ${lamp}: voltage, current, power and energy must not be negative`;
    out.push(r);
  }
  const fault = v.fault as number;
  if (!Number.isInteger(fault) || fault < 0) return `fault code ${fault} is not a non-negative integer`;
  return { lamps: out, fault };
}

export interface Policy {
  deviceId: string;
  reportIntervalMs: number;
  faultCodes: Readonly<Record<string, string>>;
}

/** The events of one poll, and the controller's new memory. */
export function normalise(prev: ControllerMemory | undefined, cur: { lamps: LampReading[]; fault: number }, now: Date, p: Policy) {
  const events: DeviceEvent[] = [];
  const event = (type: string, kind: 'event' | 'telemetry', data: object) =>
    events.push({ deviceId: p.deviceId, type, kind, severity: 'info', deviceTime: null, receivedAt: now, data: { ...data } });
  const t = now.getTime();
  const failed = cur.lamps.filter((r) => r.failure !== 'none').length;
  const lamps = new Map<number, { reading: LampReading; reportedAt: number }>();
  for (const r of cur.lamps) {
    const was = prev?.lamps.get(r.lamp);
    const w = was?.reading;
    if (!w || w.on !== r.on || w.level !== r.level) event('light.state', 'event', { lamp: r.lamp, on: r.on, level: r.level });
    if (r.failure !== 'none' && w?.failure !== r.failure) event('light.failure', 'event', { lamp: r.lamp, reason: r.failure, failedLamps: failed });
    if (r.failure === 'none' && w && w.failure !== 'none') event('light.failure.cleared', 'event', { lamp: r.lamp, failedLamps: failed });
    const changed = !w || (Object.keys(r) as (keyof LampReading)[]).some((k) => r[k] !== w[k]);
    const due = changed || t - (was?.reportedAt ?? 0) >= p.reportIntervalMs;
    if (due) event('light.reading', 'telemetry', r);
    lamps.set(r.lamp, { reading: r, reportedAt: due ? t : (was?.reportedAt ?? t) });
  }
  const before = prev?.fault ?? 0;
  if (cur.fault !== 0 && cur.fault !== before) {
    event('light.controller.fault', 'event', { code: cur.fault, meaning: p.faultCodes[String(cur.fault)] ?? `fault ${cur.fault}` });
  }
  if (cur.fault === 0 && before !== 0) event('light.controller.fault.cleared', 'event', { code: 0 });
  return { memory: { lamps, fault: cur.fault }, events };
}
