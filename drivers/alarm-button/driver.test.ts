import { afterEach, describe, expect, it } from 'vitest';
import type { DriverConfig } from '../../gateway/devices/driver-api.js';
import { type HostHarness, startHost } from '../../gateway/devices/testing/host-harness.js';
import { waitFor } from '../../gateway/testing/wait-for.js';
import { LorawanSimulator } from '../../simulators/lorawan/lorawan-simulator.js';
import { APP, startNsBroker, StepClock } from '../lorawan/testing/lorawan-kit.js';
import { alarmButton } from './index.js';

const NS = { username: 'chirpstack', password: 'ns-password-2' };
const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const BUTTONS = [
  { id: 'sos-b2-lift', devEui: '70b3d57ed0002001', building: 'B2', zone: 'lift-lobby' },
  { id: 'sos-b2-garage', devEui: '70b3d57ed0002002', building: 'B2', zone: 'garage', heartbeatIntervalS: 300 },
];

/** The host running an alarm-button instance, and the simulated network server publishing into the embedded broker. */
async function boot() {
  const clock = new StepClock();
  const config = alarmButton.configSchema.parse({
    id: 'lora-sos',
    family: 'alarm-button',
    account: NS.username,
    applicationId: APP,
    devices: BUTTONS,
  }) as DriverConfig;
  const h = startHost({ families: [alarmButton], drivers: [config], clock });
  cleanup.push(h.close);
  const ns = await startNsBroker({ [NS.username]: NS.password }, h.host.onDevicePublish);
  cleanup.push(ns.close);
  await waitFor('driver running', () => h.host.status()[0]?.state === 'running');
  const sim = new LorawanSimulator({
    url: ns.url,
    ...NS,
    clientId: `${NS.username}:sim`,
    applicationId: APP,
    heartbeats: false,
    devices: BUTTONS.map((b) => ({ id: b.id, devEui: b.devEui, kind: 'button' as const, heartbeatIntervalS: 300 })),
  });
  cleanup.push(() => sim.close());
  await sim.connected();
  return { h, sim, clock };
}

async function refused(h: HostHarness, reason: string): Promise<number> {
  const m = await h.metrics.driverRefused.get();
  return m.values.find((v) => v.labels.reason === reason)?.value ?? 0;
}

const types = (h: HostHarness, id = 'sos-b2-lift') => h.eventsOf(id).map((e) => e.type);

describe('alarm-button under the driver host, fed by the LoRaWAN simulator', () => {
  it('press, long press and cancel become their events; the press is a critical alarm with the press counter', async () => {
    const { h, sim } = await boot();
    await sim.apply('sos-b2-lift', { press: true });
    await sim.apply('sos-b2-lift', { longPress: true });
    await sim.apply('sos-b2-lift', { cancel: true });
    await waitFor('three events', () => h.eventsOf('sos-b2-lift').length === 3);
    expect(types(h)).toEqual(['button.pressed', 'button.long-press', 'button.cancelled']);
    expect(h.eventsOf('sos-b2-lift', 'button.pressed')[0]).toMatchObject({
      kind: 'alarm',
      severity: 'critical',
      data: { presses: 1 },
    });
    expect(h.eventsOf('sos-b2-garage')).toEqual([]);
  });

  it('a low battery is reported once while it stays low, with every heartbeat as telemetry', async () => {
    const { h, sim } = await boot();
    await sim.apply('sos-b2-garage', { battery: 15 });
    await sim.apply('sos-b2-garage', { battery: 14 });
    await sim.apply('sos-b2-garage', { battery: 100 });
    await sim.apply('sos-b2-garage', { battery: 12 });
    await waitFor('six events', () => h.eventsOf('sos-b2-garage').length === 6);
    expect(h.eventsOf('sos-b2-garage').map((e) => [e.type, e.data])).toEqual([
      ['device.heartbeat', { battery: 15, rssi: -87, snr: 8.5 }],
      ['device.battery-low', { percent: 15 }],
      ['device.heartbeat', { battery: 14, rssi: -87, snr: 8.5 }],
      ['device.heartbeat', { battery: 100, rssi: -87, snr: 8.5 }],
      ['device.heartbeat', { battery: 12, rssi: -87, snr: 8.5 }],
      ['device.battery-low', { percent: 12 }],
    ]);
  });

  it('duplicate, out-of-order, garbage, rejoin and silence from the simulator', async () => {
    const { h, sim, clock } = await boot();
    await sim.apply('sos-b2-lift', { press: true });
    await sim.apply('sos-b2-lift', { duplicate: true });
    await sim.apply('sos-b2-lift', { outOfOrder: true });
    await sim.apply('sos-b2-lift', { garbage: true });
    await sim.apply('sos-b2-lift', { join: true });
    await sim.apply('sos-b2-lift', { press: true });
    await waitFor('two presses', () => h.eventsOf('sos-b2-lift', 'button.pressed').length === 2);
    expect(types(h)).toEqual(['button.pressed', 'device.heartbeat', 'device.heartbeat', 'button.pressed']);
    expect(await refused(h, 'duplicate')).toBe(1);
    expect(h.invalids).toHaveLength(1);
    expect(h.invalids[0]!.reason).toMatch(/^codec of model generic-sos-button: /);

    // A silent button sends nothing: after 3 missed heartbeats it is offline.
    await sim.apply('sos-b2-garage', { heartbeat: true });
    await waitFor('garage heard', () => h.online('sos-b2-garage'));
    await sim.apply('sos-b2-garage', { silent: true, press: true });
    clock.advance(3 * 300_000);
    expect(h.online('sos-b2-garage')).toBe(false);
    expect(h.eventsOf('sos-b2-garage', 'button.pressed')).toEqual([]);
    expect(sim.state('sos-b2-garage')).toMatchObject({ silent: true, uplinks: 1 });
  });
});
