import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GasDetectorConfig } from '../../drivers/gas-detector/schema.js';
import { freePort } from '../../gateway/core/free-port.js';
import { createLogger } from '../../gateway/core/logger.js';
import { type CompoundSimulator, startCompoundSimulator } from './compound-simulator.js';

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
});
