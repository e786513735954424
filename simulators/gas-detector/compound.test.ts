/** The gas-detector part of the compound simulator serves a site-defined model, read by the real driver. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GasDetectorConfig } from '../../drivers/gas-detector/schema.js';
import { startGas } from '../../drivers/gas-detector/testing/harness.js';
import { freePort } from '../../gateway/core/free-port.js';
import { createLogger } from '../../gateway/core/logger.js';
import type { HostHarness } from '../../gateway/devices/testing/host-harness.js';
import { waitFor } from '../../gateway/testing/wait-for.js';
import { type CompoundSimulator, startCompoundSimulator } from '../compound/compound-simulator.js';

let compound: CompoundSimulator;
let host: HostHarness;

beforeAll(async () => {
  const driver = GasDetectorConfig.parse({
    family: 'gas-detector',
    id: 'gas-site-model',
    transport: { type: 'tcp', host: '127.0.0.1', port: await freePort() },
    pollIntervalMs: 100,
    timeoutMs: 300,
    models: {
      'two-block': {
        blocks: { live: { table: 'input', start: 100, length: 3 }, setup: { table: 'holding', start: 7, length: 2 } },
        fields: {
          lel: { block: 'live', offset: 0, type: 'float32', wordOrder: 'little' },
          status: { block: 'live', offset: 2, values: { 16: 'normal', 17: 'low', 18: 'high', 31: 'fault' } },
          lowThreshold: { block: 'setup', offset: 0 },
          highThreshold: { block: 'setup', offset: 1 },
        },
      },
    },
    devices: [
      { id: 'gas-a', unitId: 1, model: 'two-block' },
      { id: 'gas-b', unitId: 2 },
    ],
  });
  compound = await startCompoundSimulator({ drivers: [driver] }, createLogger('silent'), { controlPort: 0 });
  host = await startGas(driver);
});
afterAll(async () => {
  await host?.close();
  await compound?.close();
});

describe('gas-detector compound simulator', () => {
  it('serves each detector with its own model, site models included', async () => {
    await waitFor('both read', () => host.eventsOf('gas-a', 'gas.reading')[0] && host.eventsOf('gas-b', 'gas.reading')[0]);
    compound.devices.get('gas-a')!.apply({ lel: 33.25 });
    const low = await waitFor('gas-a low alarm', () => host.eventsOf('gas-a', 'gas.alarm.low')[0]);
    expect(low.data).toEqual({ lel: 33.25, lowThreshold: 20, highThreshold: 50, status: 'low' });
    compound.devices.get('gas-b')!.apply({ lel: 60 });
    await waitFor('gas-b high alarm', () => host.eventsOf('gas-b', 'gas.alarm.high')[0]);
    expect(host.invalids).toEqual([]);
  });
});
