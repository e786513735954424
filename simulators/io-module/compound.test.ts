/** The io-module part of the compound simulator, through its HTTP control API. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IoModuleConfig } from '../../drivers/io-module/schema.js';
import { freePort } from '../../gateway/core/free-port.js';
import { createLogger } from '../../gateway/core/logger.js';
import { waitFor } from '../../gateway/testing/wait-for.js';
import { type CompoundSimulator, startCompoundSimulator } from '../compound/compound-simulator.js';
import { IoModuleSimulator } from './simulator.js';

let compound: CompoundSimulator;
const post = async (id: string, body: unknown) => {
  const res = await fetch(`${compound.url}/devices/${id}`, { method: 'POST', body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

beforeAll(async () => {
  const driver = IoModuleConfig.parse({
    family: 'io-module',
    id: 'io-bus',
    transport: { type: 'tcp', port: await freePort() },
    modules: [{ id: 'io-b1', unitId: 1 }],
    inputs: [
      { id: 'sos', module: 'io-b1', input: 1, role: 'button' },
      { id: 'door', module: 'io-b1', input: 2, role: 'contact', activeLow: true },
    ],
    outputs: [{ id: 'siren', module: 'io-b1', output: 3, role: 'siren' }],
  });
  compound = await startCompoundSimulator({ drivers: [driver] }, createLogger('silent'), { controlPort: 0 });
});
afterAll(() => compound?.close());

describe('io-module compound simulator', () => {
  it('starts with every bound input at rest (a normally-closed contact energised)', async () => {
    expect((await fetch(`${compound.url}/devices/io-b1`).then((r) => r.json())) as unknown).toMatchObject({
      inputs: '01000000',
      outputs: '00000000',
    });
    expect(compound.devices.get('door')?.state()).toMatchObject({ active: false });
  });

  it('changes raw bits on the module and points in their own terms', async () => {
    expect((await post('io-b1', { input: 5, value: true })).body).toMatchObject({ inputs: '01001000' });
    expect((await post('door', { active: true })).body).toMatchObject({ active: true });
    expect((await post('io-b1', { stuck: 3 })).status).toBe(200);
    expect((await post('siren', { on: true })).body).toMatchObject({ on: true });
    expect((await post('io-b1', {})).body).toMatchObject({ inputs: '00001000', outputs: '00100000' });
  });

  it('refuses a bad change with the reason and examples', async () => {
    const bad = await post('io-b1', { value: true });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/"value" goes with "input" or "output"/);
    expect(bad.body.hint).toMatch(/\{"press": 3\}/);
    expect((await post('io-b1', { press: 12 })).body.error).toMatch(/there is no input 12/);
  });

  it('a press is on, then off after its time', async () => {
    const sim = new IoModuleSimulator([1]);
    sim.press(1, 4, 50);
    expect(sim.inputs(1)[3]).toBe(true);
    await waitFor('the press released', () => sim.inputs(1)[3] === false);
    sim.dispose();
  });
});
