/**
 * The gateway restarting, and the emergency full-on override: a restart mid-night lands on the
 * schedule's state at the first cycle; `light.emergency` is kept in the driver's durable store,
 * so it survives a restart; at night lamps go to 100 % and stay there through a dimming step, by
 * day nothing comes on (until night falls), and switching it off returns to the schedule.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { HostHarness } from '../../gateway/devices/testing/host-harness.js';
import { ManualClock } from '../../gateway/devices/testing/manual-clock.js';
import { type RunningStreetlightSimulatorTcp, startStreetlightSimulatorTcp } from '../../simulators/streetlight/index.js';
import { at, lightConfig, NIGHT, SHANGHAI, sh, startLights } from './testing/harness.js';

const dir = mkdtempSync(join(tmpdir(), 'streetlight-restart-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let s: RunningStreetlightSimulatorTcp;
let host: HostHarness | undefined;
let dbPath: string;
let n = 0;
beforeEach(async () => {
  s = await startStreetlightSimulatorTcp({ units: [1, 2], speedup: 0 });
  dbPath = join(dir, `gw-${n++}.db`);
});
afterEach(async () => {
  await host?.close();
  host = undefined;
  await s.close();
});

/** A gateway (host) starting at wall time `t`, on the same database each time. */
function gateway(t: number) {
  const clock = new ManualClock(t);
  const cfg = lightConfig(s.port, [{ id: 'pole-1', unitId: 1, group: 'road' }, { id: 'pole-2', unitId: 2, group: 'road' }], { schedules: { road: NIGHT } });
  host = startLights(cfg, { clock, site: SHANGHAI, dbPath });
  return { clock, to: (u: number) => at(clock, s.sim, u), h: host };
}
const lamp = (unit: number) => (s.sim.lamp(unit, 1).on ? s.sim.lamp(unit, 1).level : 'off');

describe('restart mid-night', () => {
  it('the first cycle after the restart lands on the schedule state of that moment', async () => {
    const a = gateway(sh('2026-12-21', '20:00'));
    await a.to(sh('2026-12-21', '20:00'));
    expect(lamp(1)).toBe(100);
    await a.h.close();
    s.sim.lamp(2, 1).on = false; // a controller that lost power meanwhile comes back with its lamp off
    const b = gateway(sh('2026-12-22', '01:00'));
    await b.to(sh('2026-12-22', '01:00'));
    expect([lamp(1), lamp(2)]).toEqual([50, 50]);
  });
});

describe('emergency full-on', () => {
  it('at night: 100 % and through the 05:00 step; off: back to the schedule level', async () => {
    const g = gateway(sh('2026-12-22', '04:00'));
    await g.to(sh('2026-12-22', '04:00'));
    expect(lamp(1)).toBe(50);
    expect(await g.h.execute('pole-1', 'light.emergency', { on: true })).toEqual({ ok: true, data: { emergency: true } });
    await g.to(sh('2026-12-22', '04:01'));
    expect([lamp(1), lamp(2)]).toEqual([100, 50]); // per controller
    await g.to(sh('2026-12-22', '05:01'));
    expect([lamp(1), lamp(2)]).toEqual([100, 80]);
    expect(await g.h.execute('pole-1', 'light.emergency', { on: false })).toEqual({ ok: true, data: { emergency: false } });
    await g.to(sh('2026-12-22', '05:02'));
    expect(lamp(1)).toBe(80);
  });

  it('by day nothing comes on; night falls with it on: lamps come on at 100 %; it survives a restart', async () => {
    const a = gateway(sh('2026-12-21', '14:00'));
    await a.to(sh('2026-12-21', '14:00'));
    await a.h.execute('pole-1', 'light.emergency', { on: true });
    await a.to(sh('2026-12-21', '14:01'));
    expect(lamp(1)).toBe('off');
    await a.h.close();
    const b = gateway(sh('2026-12-21', '23:30')); // restarted; the override is in the store
    await b.to(sh('2026-12-21', '23:30'));
    expect([lamp(1), lamp(2)]).toEqual([100, 50]);
    await b.h.execute('pole-1', 'light.emergency', { on: false });
    await b.to(sh('2026-12-21', '23:31'));
    expect(lamp(1)).toBe(50);
  });

  it('a manual hold does not stand against the emergency', async () => {
    const g = gateway(sh('2026-12-21', '20:00'));
    await g.to(sh('2026-12-21', '20:00'));
    await g.h.execute('pole-1', 'light.off', {});
    await g.to(sh('2026-12-21', '20:01'));
    expect(lamp(1)).toBe('off');
    await g.h.execute('pole-1', 'light.emergency', { on: true });
    await g.to(sh('2026-12-21', '20:02'));
    expect(lamp(1)).toBe(100);
  });
});
