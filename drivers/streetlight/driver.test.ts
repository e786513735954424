/**
 * The streetlight driver under the real driver host against its simulator over Modbus TCP on
 * loopback, controllers without a schedule group (switched by commands only). The simulator's
 * meters move only when the test steps them, so every reading is known.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../gateway/devices/testing/manual-clock.js';
import type { HostHarness } from '../../gateway/devices/testing/host-harness.js';
import { waitFor } from '../../gateway/testing/wait-for.js';
import { type RunningStreetlightSimulatorTcp, startStreetlightSimulatorTcp } from '../../simulators/streetlight/index.js';
import { LIGHT_MODELS, streetlight } from './index.js';
import { lightConfig, NIGHT, startLights } from './testing/harness.js';

let s: RunningStreetlightSimulatorTcp;
let host: HostHarness;

beforeAll(async () => {
  s = await startStreetlightSimulatorTcp({ units: [{ unitId: 1, model: LIGHT_MODELS['group-4']! }, 2], speedup: 0 });
  host = startLights(
    lightConfig(s.port, [
      { id: 'pole-g', unitId: 1, model: 'group-4', building: 'B1', zone: '南路' },
      { id: 'pole-1', unitId: 2 },
    ], { faultCodes: { 3: '通信模块故障' } }),
  );
  await waitFor('first readings', () => host.eventsOf('pole-g', 'light.reading').length >= 4 && host.eventsOf('pole-1', 'light.reading').length >= 1);
});
afterAll(async () => {
  await host?.close();
  await s?.close();
});

const last = (id: string, type: string, lamp?: number) => host.eventsOf(id, type).filter((e) => lamp === undefined || e.data.lamp === lamp).at(-1);

describe('streetlight driver against the simulator (Modbus TCP)', () => {
  it('reports every lamp off at first, with its level, voltage and meter', () => {
    expect(last('pole-g', 'light.reading', 4)?.data).toEqual({ lamp: 4, on: false, level: 100, volts: 230, amps: 0, watts: 0, energyWh: 0, failure: 'none' });
    expect(last('pole-g', 'light.state', 3)?.data).toEqual({ lamp: 3, on: false, level: 100 });
    expect(host.eventsOf('pole-1', 'light.reading').map((e) => e.data.lamp)).toContain(1);
    expect(host.online('pole-g')).toBe(true);
    expect(host.invalids).toEqual([]);
  });

  it('light.on of one lamp: relay on, read back; the lamp draws 100 W and its meter runs', async () => {
    expect(await host.execute('pole-g', 'light.on', { lamp: 2 })).toEqual({ ok: true, data: { lamps: [2], on: true } });
    expect(s.sim.lamp(1, 2).on).toBe(true);
    expect(s.sim.lamp(1, 1).on).toBe(false);
    await waitFor('state on', () => last('pole-g', 'light.state', 2)?.data.on === true);
    s.sim.step(3_600_000); // one hour at 100 W
    const r = await waitFor('100 Wh', () => host.eventsOf('pole-g', 'light.reading').find((e) => e.data.lamp === 2 && e.data.energyWh === 100));
    expect(r.data).toMatchObject({ on: true, level: 100, volts: 230, watts: 100, amps: 0.458 });
  });

  it('light.dim writes the level register and reads it back; the power follows', async () => {
    expect(await host.execute('pole-g', 'light.dim', { lamp: 2, level: 40 })).toEqual({ ok: true, data: { lamps: [2], level: 40 } });
    expect(s.sim.lamp(1, 2).level).toBe(40);
    const st = await waitFor('dimmed', () => host.eventsOf('pole-g', 'light.state').find((e) => e.data.lamp === 2 && e.data.level === 40));
    expect(st.data).toEqual({ lamp: 2, on: true, level: 40 });
    await waitFor('40 W', () => last('pole-g', 'light.reading', 2)?.data.watts === 40);
  });

  it('without lamp, a command applies to every lamp of the controller', async () => {
    expect(await host.execute('pole-g', 'light.on', {})).toEqual({ ok: true, data: { lamps: [1, 2, 3, 4], on: true } });
    expect(await host.execute('pole-g', 'light.off', {})).toEqual({ ok: true, data: { lamps: [1, 2, 3, 4], on: false } });
    expect([1, 2, 3, 4].map((n) => s.sim.lamp(1, n).on)).toEqual([false, false, false, false]);
    expect(await host.execute('pole-1', 'light.dim', { level: 70 })).toEqual({ ok: true, data: { lamps: [1], level: 70 } });
  });

  it('a lamp failure: the failure event with its reason, power 0; repaired: cleared', async () => {
    await host.execute('pole-g', 'light.on', { lamp: 3 });
    s.sim.fail(1, 3, true);
    const f = await waitFor('light.failure', () => last('pole-g', 'light.failure', 3));
    expect(f).toMatchObject({ kind: 'event', data: { lamp: 3, reason: 'open-circuit', failedLamps: 1 } });
    expect(last('pole-g', 'light.reading', 3)?.data).toMatchObject({ on: true, watts: 0, amps: 0, failure: 'open-circuit' });
    s.sim.fail(1, 4, 'short-circuit');
    expect((await waitFor('lamp 4', () => last('pole-g', 'light.failure', 4))).data).toEqual({ lamp: 4, reason: 'short-circuit', failedLamps: 2 });
    s.sim.fail(1, 3, false);
    expect((await waitFor('cleared 3', () => last('pole-g', 'light.failure.cleared', 3))).data).toEqual({ lamp: 3, failedLamps: 1 });
    s.sim.fail(1, 4, false);
    expect((await waitFor('cleared 4', () => last('pole-g', 'light.failure.cleared', 4))).data).toEqual({ lamp: 4, failedLamps: 0 });
    expect(host.eventsOf('pole-g', 'light.failure')).toHaveLength(2);
  });

  it('a controller fault code, with its meaning from faultCodes, and cleared', async () => {
    s.sim.setFault(1, 3);
    expect((await waitFor('fault', () => last('pole-g', 'light.controller.fault')))!.data).toEqual({ code: 3, meaning: '通信模块故障' });
    s.sim.setFault(1, 0);
    expect((await waitFor('fault cleared', () => last('pole-g', 'light.controller.fault.cleared')))!.data).toEqual({ code: 0 });
    s.sim.setFault(2, 9);
    expect((await waitFor('unknown code', () => last('pole-1', 'light.controller.fault')))!.data).toEqual({ code: 9, meaning: 'fault 9' });
  });

  it('a level the controller reports out of 0..100 % is refused as invalid data, not reported', async () => {
    const states = host.eventsOf('pole-1', 'light.state').length;
    s.sim.lamp(2, 1).level = 150;
    const bad = await waitFor('invalid', () => host.invalids.find((i) => i.deviceId === 'pole-1'));
    expect(bad.reason).toBe('lamp 1: level 150 is not 0..100 %');
    expect(host.eventsOf('pole-1', 'light.state')).toHaveLength(states);
    s.sim.lamp(2, 1).level = 70;
    host.invalids.length = 0;
  });

  it('refuses an unknown lamp and bad arguments without touching the controller', async () => {
    expect(await host.execute('pole-1', 'light.on', { lamp: 2 })).toEqual({ ok: false, error: 'pole-1 (model single-lamp) has no lamp 2; its lamps are 1..1' });
    expect(await host.execute('pole-g', 'light.dim', { lamp: 1, level: 101 })).toMatchObject({ ok: false, error: /bad arguments for light.dim/ });
    expect(s.sim.lamp(2, 1).on).toBe(false);
  });
});

describe('streetlight driver start', () => {
  it('refuses schedules that follow the sun when neither the site nor the driver says where it is', async () => {
    const cfg = lightConfig(1, [{ id: 'p', unitId: 1, group: 'road' }], { schedules: { road: NIGHT } });
    const quiet = { info() {}, warn() {}, error() {}, debug() {}, trace() {}, child: () => quiet };
    const ctx = { log: quiet, site: { id: 'site', timezone: 'Asia/Shanghai' }, clock: new ManualClock(0), pollNow: () => {} };
    const driver = streetlight.create(cfg, ctx as never);
    await expect(driver.start!()).rejects.toThrow(
      'streetlight driver light-bus-test: the schedules of road follow the sun, but neither the site nor the driver gives a latitude and longitude; add latitude: and longitude: under site: of the site file (or to this driver)',
    );
    await driver.stop!();
    const own = streetlight.create(lightConfig(1, [], { schedules: { road: NIGHT }, latitude: 31.23, longitude: 121.47 }), ctx as never);
    await expect(own.start!()).resolves.toBeUndefined();
    await own.stop!();
  });
});
