/**
 * The built-in rules end to end: the driver (under the real host) reports a lamp failure and a
 * controller fault, the alarm engine (real journal and pipeline) raises them in zh-CN as a
 * maintenance task and a warning, and clears them when the controller reports them gone (the
 * lamp task only once no lamp of the controller is failed).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness } from '../../gateway/alarms/testing/engine-harness.js';
import type { HostHarness } from '../../gateway/devices/testing/host-harness.js';
import { waitFor } from '../../gateway/testing/wait-for.js';
import { type RunningStreetlightSimulatorTcp, startStreetlightSimulatorTcp } from '../../simulators/streetlight/index.js';
import { LIGHT_MODELS, streetlight } from './index.js';
import { lightConfig, startLights } from './testing/harness.js';

let s: RunningStreetlightSimulatorTcp;
let host: HostHarness;
let engine: ReturnType<typeof startHarness>;

beforeAll(async () => {
  s = await startStreetlightSimulatorTcp({ units: [{ unitId: 1, model: LIGHT_MODELS['group-4']! }], speedup: 0 });
  host = startLights(lightConfig(s.port, [{ id: 'pole-g', unitId: 1, model: 'group-4' }], { faultCodes: { 3: '通信模块故障' } }));
  engine = startHarness({
    builtin: true,
    families: [streetlight],
    devices: [{ id: 'pole-g', family: 'streetlight', building: 'B1', zone: '南路', tags: [] }],
    execute: (deviceId, name, args) => host.execute(deviceId, name, args),
  });
  await waitFor('first readings', () => host.eventsOf('pole-g', 'light.reading').length >= 4);
});
afterAll(async () => {
  await engine?.close();
  await host?.close();
  await s?.close();
});

const next = (type: string, n: number) => waitFor(`${type} #${n}`, () => host.eventsOf('pole-g', type)[n - 1]);

describe('streetlight rules through the alarm engine', () => {
  it('a failed lamp is an info maintenance task; it clears when no lamp of the controller is failed', async () => {
    s.sim.fail(1, 2, true);
    await engine.emit(await next('light.failure', 1));
    s.sim.fail(1, 3, 'driver-fault');
    await engine.emit(await next('light.failure', 2));
    const raised = engine.alarmEvents('alarm.raised').map(engine.alarmOf);
    expect(raised.map((a) => [a.rule, a.severity, a.message])).toEqual([
      ['streetlight-lamp-failure', 'info', '路灯故障，请安排维修：pole-g（B1 南路） 灯 2（open-circuit）'],
    ]);
    s.sim.fail(1, 2, false);
    await engine.emit(await next('light.failure.cleared', 1));
    expect(engine.alarmEvents('alarm.cleared')).toEqual([]); // lamp 3 is still failed
    s.sim.fail(1, 3, false);
    await engine.emit(await next('light.failure.cleared', 2));
    expect(engine.alarmEvents('alarm.cleared')).toHaveLength(1);
    expect(engine.commands).toEqual([]);
  });

  it('a controller fault is a warning, cleared when the code is back to 0', async () => {
    s.sim.setFault(1, 3);
    await engine.emit(await next('light.controller.fault', 1));
    const alarm = engine.alarmEvents('alarm.raised').map(engine.alarmOf).find((a) => a.rule === 'streetlight-controller-fault');
    expect(alarm).toMatchObject({ severity: 'warning', message: '路灯控制器故障：pole-g（B1 南路） 故障码 3（通信模块故障）' });
    s.sim.setFault(1, 0);
    await engine.emit(await next('light.controller.fault.cleared', 1));
    expect(engine.alarmEvents('alarm.cleared')).toHaveLength(2);
  });
});
