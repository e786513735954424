/**
 * The built-in stuck-relay rule end to end: the driver (under the real host) reports overcurrent
 * with the relay still on, the alarm engine (real journal and pipeline) raises a critical alarm
 * in zh-CN and its linkage `port.cut` of the alarm's port goes through the host's command path to the simulator.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness } from '../../gateway/alarms/testing/engine-harness.js';
import type { HostHarness } from '../../gateway/devices/testing/host-harness.js';
import { waitFor } from '../../gateway/testing/wait-for.js';
import { type RunningEbikeSimulatorTcp, startEbikeSimulatorTcp } from '../../simulators/ebike-pile/index.js';
import { ebikePile } from './index.js';
import { ebikeConfig, startEbike } from './testing/harness.js';

let s: RunningEbikeSimulatorTcp;
let host: HostHarness;
let engine: ReturnType<typeof startHarness>;

beforeAll(async () => {
  s = await startEbikeSimulatorTcp({ units: [1], speedup: 0 });
  host = startEbike(ebikeConfig(s.port, [{ id: 'pile-1', unitId: 1 }]));
  engine = startHarness({
    builtin: true,
    families: [ebikePile],
    devices: [{ id: 'pile-1', family: 'ebike-pile', building: 'B2', zone: '车棚', tags: [] }],
    execute: (deviceId, name, args) => host.execute(deviceId, name, args),
  });
});
afterAll(async () => {
  await engine?.close();
  await host?.close();
  await s?.close();
});

describe('ebike-pile rules through the alarm engine', () => {
  it('a self-tripped port raises a major alarm and sends no command', async () => {
    s.sim.plug(1, 2, true);
    s.sim.inject(1, 2, { overcurrent: true });
    const e = await waitFor('overcurrent port 2', () => host.eventsOf('pile-1', 'pile.overcurrent').find((x) => x.data.port === 2));
    await engine.emit(e);
    const raised = engine.alarmEvents('alarm.raised').map(engine.alarmOf);
    expect(raised.map((a) => [a.rule, a.severity])).toEqual([['ebike-overcurrent', 'major']]);
    expect(engine.commands).toEqual([]);
  });

  it('overcurrent with a stuck relay: critical alarm, and port.cut switches that port off (the port taken from the event)', async () => {
    s.sim.plug(1, 3, true);
    s.sim.inject(1, 3, { stuckRelay: true, overcurrent: true });
    const e = await waitFor('overcurrent port 3', () => host.eventsOf('pile-1', 'pile.overcurrent').find((x) => x.data.port === 3));
    expect(s.sim.port(1, 3).relayOn).toBe(true);
    await engine.emit(e);
    const alarm = engine.alarmEvents('alarm.raised').map(engine.alarmOf).find((a) => a.rule === 'ebike-overcurrent-relay-on');
    expect(alarm).toMatchObject({ severity: 'critical', message: '电动车充电桩过流未断电：pile-1（B2 车棚） 端口 3 电流 7.5 A（限值 5 A），已远程断电' });
    const port4 = s.sim.port(1, 4).relayOn;
    expect(engine.commands).toEqual([{ deviceId: 'pile-1', name: 'port.cut', args: { port: 3 } }]);
    await waitFor('relay of port 3 off', () => s.sim.port(1, 3).relayOn === false);
    expect(s.sim.port(1, 4).relayOn).toBe(port4);
  });
});
