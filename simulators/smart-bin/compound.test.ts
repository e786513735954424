/** The smart-bin part of the compound simulator: its stations publish into the real embedded broker, to the real driver. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { smartBin } from '../../drivers/smart-bin/index.js';
import { createLogger } from '../../gateway/core/logger.js';
import type { DriverConfig } from '../../gateway/devices/driver-api.js';
import { type DeviceBroker, startDeviceBroker } from '../../gateway/devices/testing/device-broker.js';
import { type HostHarness, startHost } from '../../gateway/devices/testing/host-harness.js';
import { waitFor } from '../../gateway/testing/wait-for.js';
import { type CompoundSimulator, startCompoundSimulator } from '../compound/compound-simulator.js';
import { householdsOf } from './compound.js';

const config = smartBin.configSchema.parse({
  id: 'bins',
  family: 'smart-bin',
  devices: [
    { id: 'bin-a-1', account: 'room-a', building: 'A' },
    { id: 'bin-b1', building: 'B' },
  ],
}) as DriverConfig;

let h: HostHarness;
let broker: DeviceBroker;
let compound: CompoundSimulator;
beforeAll(async () => {
  h = startHost({ families: [smartBin], drivers: [config] });
  // The demo accounts' password, as the simulator uses it by default.
  broker = await startDeviceBroker({ devices: { 'room-a': 'bin-demo', 'bin-b1': 'bin-demo' }, onDevicePublish: h.host.onDevicePublish });
  await waitFor('driver running', () => h.host.status()[0]?.state === 'running');
  const port = Number(new URL(broker.url).port);
  compound = await startCompoundSimulator(
    { drivers: [config], broker: { listeners: [{ type: 'tcp', host: '127.0.0.1', port }] } },
    createLogger('silent'),
    { controlPort: 0 },
  );
});
afterAll(async () => {
  await compound?.close();
  await broker?.close();
  await h?.close();
});

const post = async (id: string, body: unknown) => {
  const res = await fetch(`${compound.url}/devices/${id}`, { method: 'POST', body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

describe('smart-bin compound simulator', () => {
  it('a change through the control API reaches the driver over MQTT', async () => {
    expect((await post('bin-b1', { smoke: true })).status).toBe(200);
    await waitFor('bin.smoke', () => h.eventsOf('bin-b1', 'bin.smoke').length === 1);
    const [household] = householdsOf('A', 1);
    expect((await post('bin-a-1', { drop: { householdId: household, category: 'kitchen', weightG: 640 } })).status).toBe(200);
    await waitFor('bin.drop', () => h.eventsOf('bin-a-1', 'bin.drop').length === 1);
    expect(h.eventsOf('bin-a-1', 'bin.drop')[0]!.data).toMatchObject({ householdId: 'A-101', category: 'kitchen', weightG: 640 });
  });

  it('refuses a bad change with the reason and examples', async () => {
    const bad = await post('bin-a-1', { fire: true });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toMatch(/fire/);
    expect(JSON.stringify(bad.body)).toContain('{\\"smoke\\": true}');
  });
});
