/** The ebike-pile part of the compound simulator serves a site-defined 2-port model, read and switched by the real driver. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ebikeConfig, startEbike } from '../../drivers/ebike-pile/testing/harness.js';
import { freePort } from '../../gateway/core/free-port.js';
import { createLogger } from '../../gateway/core/logger.js';
import type { DriverConfig, SimulatedDevice } from '../../gateway/devices/driver-api.js';
import type { HostHarness } from '../../gateway/devices/testing/host-harness.js';
import { waitFor } from '../../gateway/testing/wait-for.js';
import { simulator } from './compound.js';

const port = (n: number, at: number) => ({
  [`port${n}-state`]: { block: 'live', offset: at, values: { 0: 'idle', 1: 'charging', 2: 'full', 3: 'fault' } },
  [`port${n}-current`]: { block: 'live', offset: at + 1, type: 'float32', wordOrder: 'little' },
  [`port${n}-power`]: { block: 'live', offset: at + 3 },
  [`port${n}-energy`]: { block: 'live', offset: at + 4, type: 'uint32', wordOrder: 'little' },
  [`port${n}-temperature`]: { block: 'live', offset: at + 6, type: 'int16' },
  [`port${n}-fault`]: { block: 'live', offset: at + 7 },
  [`port${n}-limit`]: { block: 'live', offset: at + 8, scale: 0.1 },
  [`port${n}-relay`]: { block: 'relays', offset: n - 1, type: 'bool' },
});

let running: { devices: SimulatedDevice[]; close(): Promise<void> } | undefined;
let host: HostHarness;
let pile: SimulatedDevice;

beforeAll(async () => {
  const cfg = ebikeConfig(await freePort(), [{ id: 'pile-s', unitId: 9, model: 'two-port' }], {
    models: {
      'two-port': {
        blocks: { live: { table: 'holding', start: 100, length: 18 }, relays: { table: 'coils', start: 16, length: 2 } },
        fields: { ...port(1, 0), ...port(2, 9) },
        coils: { 'port1-relay': { address: 16 }, 'port2-relay': { address: 17 } },
      },
    },
  });
  running = await simulator.start(cfg as unknown as DriverConfig, createLogger('silent'));
  pile = running!.devices[0]!;
  host = startEbike(cfg);
});
afterAll(async () => {
  await host?.close();
  await running?.close();
});

describe('ebike-pile compound simulator', () => {
  it('plugs a load in, injects a stuck relay with overcurrent, and is cut by the driver', async () => {
    await waitFor('first reading', () => host.eventsOf('pile-s', 'pile.port.reading').length >= 2);
    pile.apply({ port: 2, plug: true });
    await waitFor('session', () => host.eventsOf('pile-s', 'pile.session.started')[0]);
    pile.apply({ port: 2, stuckRelay: true, overcurrent: true });
    const alarm = await waitFor('overcurrent', () => host.eventsOf('pile-s', 'pile.overcurrent')[0]);
    expect(alarm.data).toMatchObject({ port: 2, relayOn: true });
    expect(await host.execute('pile-s', 'pile.cut-all', {})).toEqual({ ok: true, data: { ports: [1, 2], relayOn: false } });
    await waitFor('port 2 off', () => host.eventsOf('pile-s', 'pile.port.state').some((e) => e.data.port === 2 && e.data.relayOn === false));
    expect(host.invalids).toEqual([]);
  });

  it('refuses a change naming a port the pile does not have, or an unknown key', () => {
    expect(() => pile.apply({ port: 3, plug: true })).toThrow(/no port 3/);
    expect(() => pile.apply({ port: 1, flood: true })).toThrow(/flood/);
  });
});
