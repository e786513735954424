/** The schedule as a pure function of time, place and schedule, against suncalc's sun times for Shanghai. */
import SunCalc from 'suncalc';
import { describe, expect, it } from 'vitest';
import { desiredAt, localInstant, Schedule, TimeOfDay, transitions } from './schedule.js';

const SH = { latitude: 31.23, longitude: 121.47, timezone: 'Asia/Shanghai' };
const night = Schedule.parse({ on: 'sunset+15m', off: 'sunrise-10m', steps: [{ at: '23:00', level: 50 }, { at: '05:00', level: 80 }] });
const at = (iso: string) => Date.parse(iso);
const MIN = 60_000;
const sun = (day: string) => SunCalc.getTimes(new Date(at(`${day}T12:00:00+08:00`)), SH.latitude, SH.longitude);

describe('time specs', () => {
  it('parses sun events with offsets and local times', () => {
    expect(TimeOfDay.parse('sunset+15m')).toEqual({ sun: 'sunset', minutes: 15 });
    expect(TimeOfDay.parse('sunrise-10m')).toEqual({ sun: 'sunrise', minutes: -10 });
    expect(TimeOfDay.parse('dusk')).toEqual({ sun: 'dusk', minutes: 0 });
    expect(TimeOfDay.parse('18:30')).toEqual({ hour: 18, minute: 30 });
  });

  it('refuses anything else, saying what fits', () => {
    for (const bad of ['sunset+15', 'sundown', '24:00', '7:30', 'sunrise+1h']) {
      expect(TimeOfDay.safeParse(bad).error?.issues[0]?.message).toMatch(/sunset\+15m, sunrise-10m, dusk, dawn.*HH:MM/);
    }
    expect(Schedule.safeParse({ on: 'dusk', off: 'dawn', steps: [{ at: '25:00', level: 50 }] }).error?.issues[0]?.path).toEqual(['steps', 0, 'at']);
    expect(Schedule.safeParse({ on: 'dusk', off: 'dawn', level: 120 }).success).toBe(false);
  });

  it('local times are those of the site time zone', () => {
    expect(localInstant(2026, 12, 21, 23, 0, 'Asia/Shanghai')).toBe(at('2026-12-21T15:00:00Z'));
    expect(localInstant(2026, 12, 32, 5, 0, 'Asia/Shanghai')).toBe(at('2026-12-31T21:00:00Z'));
    // a zone with summer time: 02:30 in Berlin on 2026-07-01 is 00:30 UTC
    expect(localInstant(2026, 7, 1, 2, 30, 'Europe/Berlin')).toBe(at('2026-07-01T00:30:00Z'));
  });
});

describe('desired state in Shanghai', () => {
  it('2026-06-21: on at sunset+15m, 50 % at 23:00, off at sunrise-10m (before the 05:00 step)', () => {
    const on = sun('2026-06-21').sunset.getTime() + 15 * MIN;
    const off = sun('2026-06-22').sunrise.getTime() - 10 * MIN;
    expect(new Date(on).toISOString().slice(11, 16)).toBe('11:17'); // 19:17 local
    expect(new Date(off).toISOString().slice(11, 16)).toBe('20:41'); // 04:41 local
    expect(desiredAt(on - MIN, SH, night)).toMatchObject({ on: false });
    expect(desiredAt(on + MIN, SH, night)).toEqual({ on: true, level: 100, since: on });
    expect(desiredAt(at('2026-06-21T22:59:00+08:00'), SH, night)).toMatchObject({ on: true, level: 100 });
    expect(desiredAt(at('2026-06-21T23:01:00+08:00'), SH, night)).toEqual({ on: true, level: 50, since: at('2026-06-21T23:00:00+08:00') });
    expect(desiredAt(off - MIN, SH, night)).toMatchObject({ on: true, level: 50 });
    expect(desiredAt(off + MIN, SH, night)).toMatchObject({ on: false, since: off });
    // the 05:00 step falls after the lamps are off: nothing
    expect(desiredAt(at('2026-06-22T05:30:00+08:00'), SH, night)).toMatchObject({ on: false, since: off });
  });

  it('2026-12-21: on at sunset+15m, 50 % at 23:00, 80 % at 05:00, off at sunrise-10m', () => {
    const on = sun('2026-12-21').sunset.getTime() + 15 * MIN;
    const off = sun('2026-12-22').sunrise.getTime() - 10 * MIN;
    expect(new Date(on).toISOString().slice(11, 16)).toBe('09:11'); // 17:11 local
    expect(new Date(off).toISOString().slice(11, 16)).toBe('22:40'); // 06:40 local
    expect(desiredAt(on - MIN, SH, night)).toMatchObject({ on: false });
    expect(desiredAt(on + MIN, SH, night)).toMatchObject({ on: true, level: 100 });
    expect(desiredAt(at('2026-12-22T04:59:00+08:00'), SH, night)).toMatchObject({ on: true, level: 50 });
    expect(desiredAt(at('2026-12-22T05:01:00+08:00'), SH, night)).toMatchObject({ on: true, level: 80 });
    expect(desiredAt(off - MIN, SH, night)).toMatchObject({ on: true, level: 80 });
    expect(desiredAt(off + MIN, SH, night)).toMatchObject({ on: false });
  });

  it('fixed local times, lamps that come on after midnight, and a custom level', () => {
    const s = Schedule.parse({ on: '01:00', off: '05:30', level: 30 });
    expect(desiredAt(at('2026-03-01T00:59:00+08:00'), SH, s)).toMatchObject({ on: false });
    expect(desiredAt(at('2026-03-01T01:00:00+08:00'), SH, s)).toEqual({ on: true, level: 30, since: at('2026-03-01T01:00:00+08:00') });
    expect(desiredAt(at('2026-03-01T05:30:00+08:00'), SH, s)).toMatchObject({ on: false });
  });

  it('dusk and dawn are civil twilight', () => {
    const s = Schedule.parse({ on: 'dusk', off: 'dawn' });
    const t = sun('2026-12-21');
    expect(desiredAt(t.dusk.getTime() - 1000, SH, s).on).toBe(false);
    expect(desiredAt(t.dusk.getTime(), SH, s).on).toBe(true);
    expect(t.dusk.getTime()).toBeGreaterThan(t.sunset.getTime());
  });

  it('a polar day has no sunset: no transition from it, the lamps stay off', () => {
    const tromso = { latitude: 69.65, longitude: 18.96, timezone: 'Europe/Oslo' };
    const t = at('2026-06-21T23:30:00+02:00');
    expect(transitions(t, tromso, night).filter((x) => x.what !== 'step')).toEqual([]);
    expect(desiredAt(t, tromso, night).on).toBe(false);
  });
});
