import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GasDetectorConfig } from '../../drivers/gas-detector/schema.js';
import { freePort } from '../../gateway/core/free-port.js';
import { createLogger } from '../../gateway/core/logger.js';
import { type CompoundSimulator, siteOf, startCompoundSimulator } from './compound-simulator.js';

let sim: CompoundSimulator;

beforeAll(async () => {
  const drivers = [
    GasDetectorConfig.parse({
      family: 'gas-detector',
      id: 'gas-a',
      transport: { type: 'tcp', host: '127.0.0.1', port: await freePort() },
      devices: [
        { id: 'gas-1', unitId: 1 },
        { id: 'gas-2', unitId: 2 },
      ],
    }),
    GasDetectorConfig.parse({
      family: 'gas-detector',
      id: 'gas-rtu',
      transport: { type: 'rtu', path: '/dev/ttyUSB9' },
      devices: [{ id: 'gas-9', unitId: 9 }],
    }),
  ];
  sim = await startCompoundSimulator({ drivers }, createLogger('silent'), {
    controlPort: 0,
  });
});

afterAll(() => sim?.close());

const call = async (method: string, path: string, body?: unknown) => {
  const res = await fetch(`${sim.url}${path}`, { method, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

describe('compound simulator', () => {
  it('simulates the loopback TCP bus through the family simulator, not the RTU one', async () => {
    const all = await call('GET', '/devices');
    expect(Object.keys(all.body)).toEqual(['gas-1', 'gas-2']);
    expect(all.body['gas-1']).toMatchObject({ family: 'gas-detector', unitId: 1, status: 'normal', valveClosed: false });
    expect(sim.exampleDevice).toBe('gas-1');
  });

  it('applies a change and answers the new state; a bad change gets the family hint', async () => {
    const ok = await call('POST', '/devices/gas-2', { lel: 60, valveClosed: true });
    expect(ok).toMatchObject({ status: 200, body: { status: 'high', valveClosed: true } });
    expect((await call('GET', '/devices/gas-2')).body).toMatchObject({ status: 'high' });
    const bad = await call('POST', '/devices/gas-2', { lel: 'lots' });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error: expect.stringMatching(/^lel:/), hint: expect.stringContaining('"lel": 60') });
    expect((await call('GET', '/devices/gas-9')).status).toBe(404);
  });

  it('names one example change per family, the first of its hint, for the demo banner', () => {
    expect(sim.examples).toEqual([{ family: 'gas-detector', device: 'gas-1', change: '{"lel": 60}' }]);
  });

  it("tells family simulators the embedded broker's address from the site's first TCP listener", () => {
    const tcp = (host: string, port: number) => ({ broker: { listeners: [{ type: 'ws', host, port: 8083 }, { type: 'tcp', host, port }] } });
    expect(siteOf(tcp('127.0.0.1', 1883))).toEqual({ brokerUrl: 'mqtt://127.0.0.1:1883' });
    expect(siteOf(tcp('0.0.0.0', 11883))).toEqual({ brokerUrl: 'mqtt://127.0.0.1:11883' });
    expect(siteOf(tcp('::1', 1883))).toEqual({ brokerUrl: 'mqtt://[::1]:1883' });
    expect(siteOf(tcp('127.0.0.1', 0))).toEqual({}); // port chosen at start: unknown here
    expect(siteOf({})).toEqual({});
  });
});
