/**
 * The built-in fire linkage reaches the streetlights: a confirmed fire (two smoke detectors of a
 * building, through the real alarm engine) sends `light.emergency {on: true}` to every
 * streetlight of the site, whose lamps (on by the schedule, dimmed to 50 % after 23:00) go to
 * 100 % on the simulated controller; resolving the fire sends `{on: false}` and they return to 50 %.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness } from '../../gateway/alarms/testing/engine-harness.js';
import { FIRE_DEVICES, smokeFamily } from '../../gateway/alarms/testing/families.js';
import type { HostHarness } from '../../gateway/devices/testing/host-harness.js';
import { ManualClock } from '../../gateway/devices/testing/manual-clock.js';
import { waitFor } from '../../gateway/testing/wait-for.js';
import { type RunningStreetlightSimulatorTcp, startStreetlightSimulatorTcp } from '../../simulators/streetlight/index.js';
import { LIGHT_MODELS, streetlight } from './index.js';
import { at, lightConfig, NIGHT, SHANGHAI, sh, startLights } from './testing/harness.js';

let s: RunningStreetlightSimulatorTcp;
let host: HostHarness;
let engine: ReturnType<typeof startHarness>;
const clock = new ManualClock(sh('2026-12-21', '23:30'));

beforeAll(async () => {
  s = await startStreetlightSimulatorTcp({ units: [{ unitId: 1, model: LIGHT_MODELS['group-4']! }], speedup: 0 });
  const cfg = lightConfig(s.port, [{ id: 'pole-g', unitId: 1, model: 'group-4', group: 'roads' }], { schedules: { roads: NIGHT } });
  host = startLights(cfg, { clock, site: SHANGHAI });
  engine = startHarness({
    builtin: true,
    families: [smokeFamily, streetlight],
    devices: [...FIRE_DEVICES.filter((d) => d.family === 'smoke-detector'), { id: 'pole-g', family: 'streetlight', building: 'B2', zone: '南路', tags: [] }],
    execute: (deviceId, name, args) => host.execute(deviceId, name, args),
  });
});
afterAll(async () => {
  await engine?.close();
  await host?.close();
  await s?.close();
});

const levels = () => [1, 2, 3, 4].map((n) => (s.sim.lamp(1, n).on ? s.sim.lamp(1, n).level : 'off'));
/** The linkage actions done on the streetlight (the command answered), in order. */
const done = () =>
  engine.alarmEvents('alarm.action').map((e) => e.data.action as { command: string; target: string; outcome: string; on: string }).filter((a) => a.target === 'pole-g');
const smoke = (deviceId: string) => ({ deviceId, type: 'smoke.alarm', kind: 'alarm' as const, severity: 'critical' as const, data: {} });

describe('fire-confirmed and the streetlights', () => {
  it('a confirmed fire in B1 turns the streetlights of the site full-on; resolved: back to the schedule', async () => {
    await at(clock, s.sim, sh('2026-12-21', '23:30'));
    expect(levels()).toEqual([50, 50, 50, 50]);
    await engine.emit(smoke('smoke-b1-1'));
    await engine.emit(smoke('smoke-b1-2'));
    const fire = engine.engine.activeAlarms().find((a) => a.rule === 'fire-confirmed')!;
    await waitFor('emergency on done', () => done().length === 1);
    expect(done()[0]).toMatchObject({ command: 'light.emergency', outcome: 'ok', on: 'raise' });
    expect(engine.commands.filter((c) => c.deviceId === 'pole-g')).toEqual([{ deviceId: 'pole-g', name: 'light.emergency', args: { on: true } }]);
    await at(clock, s.sim, sh('2026-12-21', '23:31'));
    expect(levels()).toEqual([100, 100, 100, 100]);

    expect(engine.engine.resolve(fire.id, 'duty.zhang', '消防队确认已扑灭').ok).toBe(true);
    await waitFor('emergency off done', () => done().length === 2);
    expect(done()[1]).toMatchObject({ command: 'light.emergency', outcome: 'ok', on: 'resolve' });
    expect(engine.commands.filter((c) => c.deviceId === 'pole-g')[1]).toEqual({ deviceId: 'pole-g', name: 'light.emergency', args: { on: false } });
    await at(clock, s.sim, sh('2026-12-21', '23:32'));
    expect(levels()).toEqual([50, 50, 50, 50]);
  });
});
