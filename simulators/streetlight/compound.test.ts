/** The streetlight part of the compound simulator serves the bus of the site file; a lamp failure injected through its change API reaches the real driver. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lightConfig, startLights } from '../../drivers/streetlight/testing/harness.js';
import { freePort } from '../../gateway/core/free-port.js';
import { createLogger } from '../../gateway/core/logger.js';
import type { DriverConfig, SimulatedDevice } from '../../gateway/devices/driver-api.js';
import type { HostHarness } from '../../gateway/devices/testing/host-harness.js';
import { waitFor } from '../../gateway/testing/wait-for.js';
import { simulator } from './compound.js';

let running: { devices: SimulatedDevice[]; close(): Promise<void> } | undefined;
let host: HostHarness;
let group: SimulatedDevice;

beforeAll(async () => {
  const cfg = lightConfig(await freePort(), [{ id: 'pole-1', unitId: 1 }, { id: 'pole-g', unitId: 2, model: 'group-4' }]);
  running = await simulator.start(cfg as unknown as DriverConfig, createLogger('silent'));
  group = running!.devices.find((d) => d.id === 'pole-g')!;
  host = startLights(cfg);
});
afterAll(async () => {
  await host?.close();
  await running?.close();
});

describe('streetlight compound simulator', () => {
  it('a lamp fails and is repaired; a controller fault; the driver reports each', async () => {
    await waitFor('first readings', () => host.eventsOf('pole-g', 'light.reading').length >= 4);
    await group.apply({ lamp: 2, fail: true });
    expect((await waitFor('failure', () => host.eventsOf('pole-g', 'light.failure')[0])).data).toEqual({ lamp: 2, reason: 'open-circuit', failedLamps: 1 });
    await group.apply({ lamp: 2, fail: false });
    await waitFor('cleared', () => host.eventsOf('pole-g', 'light.failure.cleared')[0]);
    await group.apply({ fault: 5 });
    expect((await waitFor('fault', () => host.eventsOf('pole-g', 'light.controller.fault')[0])).data).toEqual({ code: 5, meaning: 'fault 5' });
    expect(host.eventsOf('pole-1', 'light.failure')).toEqual([]);
    expect(host.invalids).toEqual([]);
  });

  it('refuses a lamp the controller does not have, a failure without lamp, an unknown key', () => {
    expect(() => group.apply({ lamp: 5, fail: true })).toThrow(/no lamp 5; its lamps are 1, 2, 3, 4/);
    expect(() => group.apply({ fail: true })).toThrow(/fail needs lamp/);
    expect(() => group.apply({ lamp: 1, fail: 'melted' })).toThrow(/"melted" is not a status bit of this model; use true or one of open-circuit, short-circuit, driver-fault/);
    expect(() => group.apply({ lamp: 1, flood: true })).toThrow(/flood/);
  });
});
