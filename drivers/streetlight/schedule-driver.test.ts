/**
 * The schedule under the real host, with a manual clock and the Shanghai site: the on/off and
 * dimming transitions the driver writes to the simulated controller agree with suncalc's sun
 * times to the minute; a wall-clock step lands on the right state at the next cycle; a manual
 * command holds until the next transition.
 */
import SunCalc from 'suncalc';
import { afterEach, describe, expect, it } from 'vitest';
import type { HostHarness } from '../../gateway/devices/testing/host-harness.js';
import { ManualClock } from '../../gateway/devices/testing/manual-clock.js';
import { type RunningStreetlightSimulatorTcp, startStreetlightSimulatorTcp } from '../../simulators/streetlight/index.js';
import { LIGHT_MODELS } from './index.js';
import { at, lightConfig, NIGHT, SHANGHAI, sh, startLights } from './testing/harness.js';

const MIN = 60_000;
const sun = (day: string) => SunCalc.getTimes(new Date(sh(day, '12:00')), SHANGHAI.latitude, SHANGHAI.longitude);

let s: RunningStreetlightSimulatorTcp | undefined;
let host: HostHarness | undefined;
afterEach(async () => {
  await host?.close();
  await s?.close();
  host = s = undefined;
});

async function road(start: number) {
  s = await startStreetlightSimulatorTcp({ units: [{ unitId: 1, model: LIGHT_MODELS['group-4']! }], speedup: 0 });
  const clock = new ManualClock(start);
  host = startLights(lightConfig(s.port, [{ id: 'pole-g', unitId: 1, model: 'group-4', group: 'road' }], { schedules: { road: NIGHT } }), { clock, site: SHANGHAI });
  const sim = s.sim;
  const lamps = () => [1, 2, 3, 4].map((n) => sim.lamp(1, n)).map((l) => (l.on ? l.level : 'off'));
  return { clock, sim, lamps, to: (t: number) => at(clock, sim, t) };
}

describe('schedule transitions written to the controller (Shanghai)', () => {
  it('2026-06-21: on at sunset+15m, 50 % at 23:00, off at sunrise-10m', async () => {
    const on = sun('2026-06-21').sunset.getTime() + 15 * MIN;
    const off = sun('2026-06-22').sunrise.getTime() - 10 * MIN;
    const r = await road(on - MIN);
    await r.to(on - MIN / 2);
    expect(r.lamps()).toEqual(['off', 'off', 'off', 'off']);
    await r.to(on + MIN / 2);
    expect(r.lamps()).toEqual([100, 100, 100, 100]);
    await r.to(sh('2026-06-21', '22:59'));
    expect(r.lamps()).toEqual([100, 100, 100, 100]);
    await r.to(sh('2026-06-21', '23:01'));
    expect(r.lamps()).toEqual([50, 50, 50, 50]);
    await r.to(off - MIN / 2);
    expect(r.lamps()).toEqual([50, 50, 50, 50]);
    await r.to(off + MIN / 2);
    expect(r.lamps()).toEqual(['off', 'off', 'off', 'off']);
    await r.to(sh('2026-06-22', '05:01')); // the 05:00 step comes after sunrise in June: lamps stay off
    expect(r.lamps()).toEqual(['off', 'off', 'off', 'off']);
    expect(host!.eventsOf('pole-g', 'light.state').filter((e) => e.data.lamp === 1).map((e) => [e.data.on, e.data.level])).toEqual([
      [false, 100], [true, 100], [true, 50], [false, 50],
    ]);
  });

  it('2026-12-21: on at sunset+15m, 50 % at 23:00, 80 % at 05:00, off at sunrise-10m', async () => {
    const on = sun('2026-12-21').sunset.getTime() + 15 * MIN;
    const off = sun('2026-12-22').sunrise.getTime() - 10 * MIN;
    expect(new Date(on).toLocaleTimeString('sv', { timeZone: 'Asia/Shanghai' }).slice(0, 5)).toBe('17:11');
    const r = await road(on - MIN);
    await r.to(on - MIN / 2);
    expect(r.lamps()).toEqual(['off', 'off', 'off', 'off']);
    await r.to(on + MIN / 2);
    expect(r.lamps()).toEqual([100, 100, 100, 100]);
    await r.to(sh('2026-12-21', '23:01'));
    expect(r.lamps()).toEqual([50, 50, 50, 50]);
    await r.to(sh('2026-12-22', '04:59'));
    expect(r.lamps()).toEqual([50, 50, 50, 50]);
    await r.to(sh('2026-12-22', '05:01'));
    expect(r.lamps()).toEqual([80, 80, 80, 80]);
    await r.to(off - MIN / 2);
    expect(r.lamps()).toEqual([80, 80, 80, 80]);
    await r.to(off + MIN / 2);
    expect(r.lamps()).toEqual(['off', 'off', 'off', 'off']);
  });
});

describe('the wall clock and manual commands', () => {
  it('a wall-clock step of +3 h lands on the state of the new time at the next cycle', async () => {
    const r = await road(sh('2026-12-21', '21:00'));
    await r.to(sh('2026-12-21', '21:00'));
    expect(r.lamps()).toEqual([100, 100, 100, 100]);
    await r.to(sh('2026-12-22', '00:00')); // +3 h in one step (an NTP correction, an RTC set by hand)
    expect(r.lamps()).toEqual([50, 50, 50, 50]);
  });

  it('light.off and light.dim by hand hold until the next transition of the schedule', async () => {
    const r = await road(sh('2026-12-21', '20:00'));
    await r.to(sh('2026-12-21', '20:00'));
    expect(await host!.execute('pole-g', 'light.off', { lamp: 1 })).toMatchObject({ ok: true });
    expect(await host!.execute('pole-g', 'light.dim', { lamp: 2, level: 30 })).toMatchObject({ ok: true });
    await r.to(sh('2026-12-21', '22:00'));
    expect(r.lamps()).toEqual(['off', 30, 100, 100]);
    await r.to(sh('2026-12-21', '23:01')); // the 23:00 step: every lamp follows the schedule again
    expect(r.lamps()).toEqual([50, 50, 50, 50]);
  });

  it('a controller without group is left alone', async () => {
    s = await startStreetlightSimulatorTcp({ units: [1, 2], speedup: 0 });
    const clock = new ManualClock(sh('2026-12-21', '21:00'));
    const cfg = lightConfig(s.port, [{ id: 'p1', unitId: 1, group: 'road' }, { id: 'p2', unitId: 2 }], { schedules: { road: NIGHT } });
    host = startLights(cfg, { clock, site: SHANGHAI });
    await at(clock, s.sim, clock.now());
    expect([s.sim.lamp(1, 1).on, s.sim.lamp(2, 1).on]).toEqual([true, false]);
  });
});
