/**
 * The ebike-pile driver under the real driver host against its simulator over Modbus TCP on
 * loopback. The simulator's clock is stepped by the test (no real-time ticks), so every reading
 * is known.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostHarness } from '../../gateway/devices/testing/host-harness.js';
import { waitFor } from '../../gateway/testing/wait-for.js';
import { type RunningEbikeSimulatorTcp, startEbikeSimulatorTcp } from '../../simulators/ebike-pile/index.js';
import { EBIKE_RULES } from './index.js';
import { ebikeConfig, startEbike } from './testing/harness.js';

let s: RunningEbikeSimulatorTcp;
let host: HostHarness;

beforeAll(async () => {
  s = await startEbikeSimulatorTcp({ units: [1], speedup: 0 }); // time moves only by s.sim.step()
  host = startEbike(ebikeConfig(s.port, [{ id: 'pile-1', unitId: 1, building: 'B2', zone: '车棚' }]));
  await waitFor('first readings', () => host.eventsOf('pile-1', 'pile.port.reading').length >= 10);
});
afterAll(async () => {
  await host?.close();
  await s?.close();
});

const last = (type: string, port: number) => host.eventsOf('pile-1', type).filter((e) => e.data.port === port).at(-1);

describe('ebike-pile driver against the simulator (Modbus TCP)', () => {
  it('reports every port idle at first, with its limit and relay', () => {
    expect(last('pile.port.reading', 10)?.data).toEqual({
      port: 10, state: 'idle', amps: 0, watts: 0, energyWh: 0, temperatureC: 25, limitAmps: 5, relayOn: true, faultCode: 0,
    });
    expect(host.online('pile-1')).toBe(true);
    expect(host.invalids).toEqual([]);
  });

  it('a session: started, readings along the curve, full, stopped with its energy', async () => {
    s.sim.plug(1, 3, true);
    await waitFor('session started', () => last('pile.session.started', 3));
    expect(last('pile.port.state', 3)?.data).toMatchObject({ state: 'charging', amps: 3, watts: 144 });
    s.sim.step(60_000); // one minute of bulk charge: 3 A × 48 V × 1 min = 2.4 Wh
    await waitFor('energy 2 Wh', () => last('pile.port.reading', 3)?.data.energyWh === 2);
    s.sim.step(200_000); // tapered to nothing
    await waitFor('full', () => last('pile.port.state', 3)?.data.state === 'full');
    const meter = last('pile.port.reading', 3)!.data.energyWh as number;
    s.sim.plug(1, 3, false);
    const stopped = await waitFor('session stopped', () => last('pile.session.stopped', 3));
    expect(stopped.data).toEqual({ port: 3, energyWh: meter, reason: 'full' });
    expect(meter).toBeGreaterThan(2);
  });

  it('overcurrent: the pile trips the port by itself; the alarm shows the relay off, the rule does not fire', async () => {
    s.sim.plug(1, 4, true);
    await waitFor('charging', () => last('pile.session.started', 4));
    s.sim.inject(1, 4, { overcurrent: true });
    const alarm = await waitFor('pile.overcurrent', () => last('pile.overcurrent', 4));
    expect(alarm).toMatchObject({ kind: 'alarm', severity: 'critical', data: { state: 'fault', relayOn: false, faultCode: 1 } });
    expect(last('pile.session.stopped', 4)?.data).toMatchObject({ reason: 'overcurrent' });
    expect(s.sim.port(1, 4).relayOn).toBe(false);
    const rule = EBIKE_RULES.find((r) => r.id === 'ebike-overcurrent-relay-on')!;
    expect(rule.match.where).toEqual({ relayOn: true });
  });

  it('stuck relay: overcurrent with the relay still on; the rule action (port.cut of the alarm\'s port) reaches the pile', async () => {
    s.sim.plug(1, 5, true);
    s.sim.inject(1, 5, { stuckRelay: true, overcurrent: true });
    const alarm = await waitFor('pile.overcurrent', () => last('pile.overcurrent', 5));
    expect(alarm.data).toMatchObject({ relayOn: true, amps: 7.5, limitAmps: 5 });
    const rule = EBIKE_RULES.find((r) => r.id === 'ebike-overcurrent-relay-on')!;
    expect(rule.match.type).toBe(alarm.type);
    const action = rule.actions![0]!;
    expect(action).toMatchObject({ command: 'port.cut', args: { port: '{data.port}' } });
    const port1 = s.sim.port(1, 1).relayOn;
    expect(await host.execute('pile-1', action.command, { port: alarm.data.port })).toMatchObject({ ok: true, data: { relayOn: false } });
    expect(s.sim.port(1, 5).relayOn).toBe(false);
    expect(s.sim.port(1, 1).relayOn).toBe(port1);
    await waitFor('port 5 reported off', () => last('pile.port.state', 5)?.data.relayOn === false);
  });

  it('port.restore and port.cut switch one port; port.set-limit writes its limit', async () => {
    expect(await host.execute('pile-1', 'port.restore', { port: 2 })).toEqual({ ok: true, data: { ports: [2], relayOn: true } });
    expect(s.sim.port(1, 2).relayOn).toBe(true);
    expect(await host.execute('pile-1', 'port.cut', { port: 2 })).toEqual({ ok: true, data: { ports: [2], relayOn: false } });
    expect(s.sim.port(1, 2).relayOn).toBe(false);
    expect(await host.execute('pile-1', 'port.set-limit', { port: 2, amps: 3.5 })).toEqual({ ok: true, data: { port: 2, amps: 3.5 } });
    expect(s.sim.port(1, 2).limitAmps).toBe(3.5);
    await waitFor('limit reported', () => last('pile.port.reading', 2)?.data.limitAmps === 3.5);
  });

  it('refuses an unknown port and bad arguments without touching the pile', async () => {
    expect(await host.execute('pile-1', 'port.cut', { port: 11 })).toEqual({ ok: false, error: 'pile-1 (model generic-10port) has no port 11; its ports are 1..10' });
    expect(await host.execute('pile-1', 'port.set-limit', { port: 1 })).toMatchObject({ ok: false, error: /bad arguments for port.set-limit/ });
  });

  it('overtemperature with the pile tripping: alarm with the relay off', async () => {
    s.sim.setRelay(1, 6, true);
    s.sim.inject(1, 6, { overtemperature: true });
    const alarm = await waitFor('pile.overtemperature', () => last('pile.overtemperature', 6));
    expect(alarm.data).toMatchObject({ temperatureC: 85, relayOn: false, faultCode: 2, state: 'fault' });
  });
});
