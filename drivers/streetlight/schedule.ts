/**
 * Lighting schedules, computed on the gateway. The desired state of a group at any instant is a
 * pure function of the time, the site's place and time zone, and the group's schedule: no timer
 * is armed on wall time, the driver asks again after every poll, so a restart or a step of the
 * wall clock lands on the right state at the next cycle.
 *
 *   on: sunset+15m        # sunset | sunrise | dusk | dawn, ± minutes; or a local time 18:30
 *   off: sunrise-10m
 *   level: 100            # % when the lamps come on
 *   steps: [{ at: '23:00', level: 50 }, { at: '05:00', level: 80 }]   # local hours
 *
 * The state at `t` is the result of the transitions up to `t`, in time order: `on` switches on
 * at `level`, `off` switches off, a step sets its level while the lamps are on (a step while
 * they are off does nothing). Sun times come from suncalc for the site's latitude/longitude
 * (dusk and dawn: civil, sun 6° below the horizon); a day without that sun event (polar day or
 * night) has no such transition.
 */
import SunCalc from 'suncalc';
import { z } from 'zod';

export const SUN_EVENTS = ['sunset', 'sunrise', 'dusk', 'dawn'] as const;
export type TimeSpec = { sun: (typeof SUN_EVENTS)[number]; minutes: number } | { hour: number; minute: number };

const LOCAL = /^([01]\d|2[0-3]):([0-5]\d)$/;
const SUN = /^(sunset|sunrise|dusk|dawn)(?:([+-])(\d{1,3})m)?$/;

export const LocalTime = z
  .string()
  .regex(LOCAL, 'a local time HH:MM, e.g. "23:00"')
  .transform((s) => ({ hour: Number(s.slice(0, 2)), minute: Number(s.slice(3)) }));

export const TimeOfDay = z
  .string()
  .refine((s) => LOCAL.test(s) || SUN.test(s), 'a sun event with an offset in minutes (sunset+15m, sunrise-10m, dusk, dawn) or a local time HH:MM (18:30)')
  .transform((s): TimeSpec => {
    const m = SUN.exec(s);
    if (!m) return { hour: Number(s.slice(0, 2)), minute: Number(s.slice(3)) };
    return { sun: m[1] as (typeof SUN_EVENTS)[number], minutes: (m[2] === '-' ? -1 : 1) * Number(m[3] ?? 0) };
  });

const Level = z.number().int().min(0).max(100);
export const Schedule = z.strictObject({
  /** When the lamps come on: `sunset+15m`, `dusk`, `18:30`… */
  on: TimeOfDay,
  /** When they go off: `sunrise-10m`, `dawn`, `06:00`… */
  off: TimeOfDay,
  /** Dim level (%) when they come on. */
  level: Level.default(100),
  /** Dim levels at local hours while the lamps are on. */
  steps: z.array(z.strictObject({ at: LocalTime, level: Level })).default([]),
});
export type Schedule = z.output<typeof Schedule>;

export interface Place {
  latitude: number;
  longitude: number;
  /** IANA time zone, e.g. Asia/Shanghai. */
  timezone: string;
}

export interface Desired {
  on: boolean;
  level: number;
  /** The instant (ms) of the transition that set this state: it changes at each transition. */
  since: number;
}

/** Whether a time spec needs the sun (and so a latitude and longitude). */
export const usesSun = (s: Schedule): boolean => 'sun' in s.on || 'sun' in s.off;

/** A schedule that follows the sun needs a latitude and longitude: the driver's own, else the site's. */
export function sunScheduleProblems(
  cfg: { latitude?: number; longitude?: number; schedules: Readonly<Record<string, Schedule>> },
  site: { latitude?: number; longitude?: number },
): { path: string[]; message: string }[] {
  const located = (cfg.latitude ?? site.latitude) !== undefined && (cfg.longitude ?? site.longitude) !== undefined;
  if (located) return [];
  return Object.entries(cfg.schedules)
    .filter(([, s]) => usesSun(s))
    .map(([group]) => ({
      path: ['schedules', group],
      message:
        'this schedule follows the sun (sunset/sunrise/dusk/dawn) but neither the site nor this driver gives a latitude and longitude; add latitude: and longitude: under site: (or to this driver), or use fixed times such as 18:30',
    }));
}

const DAY_MS = 86_400_000;

const formats = new Map<string, Intl.DateTimeFormat>();

/** Local calendar fields of instant `t` in `tz`. */
function localFields(t: number, tz: string) {
  let format = formats.get(tz);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: tz, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric',
    });
    formats.set(tz, format);
  }
  const parts = format.formatToParts(new Date(t));
  const get = (type: string) => Number(parts.find((p) => p.type === type)!.value);
  return { y: get('year'), m: get('month'), d: get('day'), h: get('hour'), min: get('minute'), s: get('second') };
}

/** The instant of local time h:min on day y-m-d in `tz` (days past the month's end roll over). */
export function localInstant(y: number, m: number, d: number, h: number, min: number, tz: string): number {
  const wall = Date.UTC(y, m - 1, d, h, min);
  const offset = (t: number) => {
    const f = localFields(t, tz);
    return Date.UTC(f.y, f.m - 1, f.d, f.h, f.min, f.s) - Math.floor(t / 1000) * 1000;
  };
  const first = wall - offset(wall);
  return wall - offset(first);
}

/** The instant of `spec` on local day y-m-d, or undefined when the sun has no such event that day. */
export function instantOf(spec: TimeSpec, y: number, m: number, d: number, place: Place): number | undefined {
  if (!('sun' in spec)) return localInstant(y, m, d, spec.hour, spec.minute, place.timezone);
  const noon = localInstant(y, m, d, 12, 0, place.timezone);
  const at = SunCalc.getTimes(new Date(noon), place.latitude, place.longitude)[spec.sun].getTime();
  return Number.isFinite(at) ? at + spec.minutes * 60_000 : undefined;
}

type Transition = { at: number; what: 'on' | 'off' | 'step'; level: number };

/** The transitions of the local days from two days before `t` to the day after, in time order. */
export function transitions(t: number, place: Place, s: Schedule): Transition[] {
  const today = localFields(t, place.timezone);
  const out: Transition[] = [];
  for (let k = -2; k <= 1; k++) {
    const day = new Date(Date.UTC(today.y, today.m - 1, today.d) + k * DAY_MS);
    const [y, m, d] = [day.getUTCFullYear(), day.getUTCMonth() + 1, day.getUTCDate()];
    const on = instantOf(s.on, y, m, d, place);
    const off = instantOf(s.off, y, m, d, place);
    if (on !== undefined) out.push({ at: on, what: 'on', level: s.level });
    if (off !== undefined) out.push({ at: off, what: 'off', level: 0 });
    for (const step of s.steps) out.push({ at: localInstant(y, m, d, step.at.hour, step.at.minute, place.timezone), what: 'step', level: step.level });
  }
  return out.sort((a, b) => a.at - b.at);
}

/** The desired state of a group with schedule `s` at instant `t` (ms). */
export function desiredAt(t: number, place: Place, s: Schedule): Desired {
  const all = transitions(t, place, s);
  let state: Desired = { on: false, level: s.level, since: all[0]?.at ?? t };
  for (const x of all) {
    if (x.at > t) break;
    if (x.what === 'on') state = { on: true, level: x.level, since: x.at };
    else if (x.what === 'off') state = { on: false, level: state.level, since: x.at };
    else if (state.on) state = { on: true, level: x.level, since: x.at };
  }
  return state;
}
