import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { DeviceEvent } from '../../gateway/devices/driver-api.js';
import { waitFor } from '../../gateway/testing/wait-for.js';
import { applyChange } from '../../simulators/access-gate/compound.js';
import { type GateRig, startRig } from './testing/harness.js';

const rigs: GateRig[] = [];
afterEach(async () => {
  for (const r of rigs.splice(0)) await r.close();
});
async function rig(o?: Parameters<typeof startRig>[0]) {
  const r = await startRig(o);
  rigs.push(r);
  return r;
}

const types = (events: DeviceEvent[]) => events.map((e) => e.type);
const after = (r: GateRig, n: number) => r.h.eventsOf('gate-1').slice(n);

describe('access-gate under the driver host, against the simulated terminal', () => {
  it('reports every event kind pushed by the terminal, once, with its serial number', async () => {
    const r = await rig();
    const { h, sim } = r;
    const step = async (change: unknown, expected: string[]) => {
      const before = h.eventsOf('gate-1').length;
      applyChange(sim, change);
      await waitFor(`${JSON.stringify(change)} gives ${expected.join(', ')}`, () => types(after(r, before)).join() === expected.join()).catch((err: Error) => {
        throw new Error(`${err.message}; got ${types(after(r, before)).join(', ')}`);
      });
      return after(r, before);
    };

    const [granted, opened] = await step({ face: '1001' }, ['access.granted', 'door.state']);
    expect(granted).toMatchObject({ kind: 'event', severity: 'info', data: { door: 1, method: 'face', employeeNo: '1001', name: '张伟' } });
    expect(granted!.data.pictureRef).toMatch(/\.jpg$/);
    expect(granted!.deviceTime).toBeInstanceOf(Date);
    expect(granted!.data.historical).toBeUndefined();
    expect(opened).toMatchObject({ data: { door: 1, state: 'open' } });
    await waitFor('the door closes by itself', () => h.eventsOf('gate-1', 'door.state').at(-1)?.data.state === 'closed');

    const [card] = await step({ card: '3005001002', door: 2 }, ['access.granted', 'door.state']);
    expect(card!.data).toMatchObject({ door: 2, method: 'card', cardNo: '3005001002', employeeNo: '1002' });
    expect(card!.data.pictureRef).toBeUndefined();
    await waitFor('door 2 closes', () => h.eventsOf('gate-1', 'door.state').at(-1)?.data.state === 'closed');

    const [deniedCard] = await step({ card: '999' }, ['access.denied']);
    expect(deniedCard!.data).toMatchObject({ method: 'card', reason: 'unknown-card', cardNo: '999' });
    const [deniedFace] = await step({ face: '4242' }, ['access.denied']);
    expect(deniedFace!.data).toMatchObject({ method: 'face', reason: 'face-mismatch' });
    const [stranger] = await step({ stranger: true }, ['access.stranger']);
    expect(stranger!.data.pictureRef).toMatch(/\.jpg$/);

    // Forced open, it closes by itself.
    const [forced, closed] = await step({ force: true }, ['door.forced', 'door.state']);
    expect(forced).toMatchObject({ kind: 'alarm', severity: 'warning', data: { door: 1 } });
    expect(closed!.data).toMatchObject({ door: 1, state: 'closed' });

    await step({ holdOpen: true }, ['door.state']);
    await waitFor('held open', () => h.eventsOf('gate-1', 'door.held-open').length === 1);
    expect(h.eventsOf('gate-1', 'door.held-open')[0]).toMatchObject({ kind: 'alarm', severity: 'warning' });
    await step({ holdOpen: false }, ['door.state']);

    const [tamper] = await step({ tamper: true }, ['gate.tamper']);
    expect(tamper).toMatchObject({ kind: 'alarm', severity: 'major' });

    const fever = await step({ temperature: 37.9, mask: true }, ['access.granted', 'gate.temperature', 'gate.temperature.abnormal', 'door.state']);
    expect(fever[1]!.data).toMatchObject({ celsius: 37.9, abnormal: true, mask: true });
    expect(fever[2]).toMatchObject({ kind: 'alarm', severity: 'warning', data: { celsius: 37.9 } });
    await waitFor('closed again', () => h.eventsOf('gate-1', 'door.state').at(-1)?.data.state === 'closed');
    const normal = await step({ temperature: 36.5, face: '1003' }, ['access.granted', 'gate.temperature', 'door.state']);
    expect(normal[1]!.data).toMatchObject({ celsius: 36.5, abnormal: false });

    // Every record the terminal wrote was reported once, in its serial order, none invalid.
    const serials = h.eventsOf('gate-1').map((e) => e.data.serialNo as number);
    expect(serials).toEqual([...serials].sort((a, b) => a - b));
    expect(new Set(serials).size).toBe(sim.model.history.filter((x) => x.major !== 3 || x.minor === 0x400).length);
    expect(h.invalids).toEqual([]);
    expect(h.online('gate-1')).toBe(true);
  }, 30_000);

  it('stores the pushed picture as a driver file and puts only its reference in the event', async () => {
    const filesDir = mkdtempSync(join(tmpdir(), 'gate-files-'));
    const r = await rig({ host: { filesDir } });
    applyChange(r.sim, { face: '1002' });
    const e = await waitFor('granted', () => r.h.eventsOf('gate-1', 'access.granted')[0]);
    const ref = e.data.pictureRef as string;
    expect(ref).toMatch(/^gates\/\d{4}-\d\d-\d\d\/[0-9a-f-]+\.jpg$/);
    const jpeg = readFileSync(join(filesDir, ref));
    expect([...jpeg.subarray(0, 2), ...jpeg.subarray(-2)]).toEqual([0xff, 0xd8, 0xff, 0xd9]);
    expect(JSON.stringify(e.data)).not.toMatch(/\\u00ff|data:image/);
    rmSync(filesDir, { recursive: true, force: true });
  });

  it('runs door commands through the host: open, always-open, resume, always-close, close', async () => {
    const { h, sim } = await rig();
    const ok = await h.execute('gate-1', 'door.open', {});
    expect(ok).toEqual({ ok: true, data: { door: 1, cmd: 'open' } });
    const remote = await waitFor('remote grant', () => h.eventsOf('gate-1', 'access.granted')[0]);
    expect(remote.data).toMatchObject({ method: 'remote', door: 1 });
    await waitFor('door 1 open', () => sim.model.state().doors[0]!.open);

    expect(await h.execute('gate-1', 'door.always-open', { door: 2 })).toMatchObject({ ok: true });
    await waitFor('always-open', () => h.eventsOf('gate-1', 'door.state').some((e) => e.data.state === 'always-open' && e.data.door === 2));
    expect(await h.execute('gate-1', 'door.resume', { door: 2 })).toMatchObject({ ok: true });
    expect(await h.execute('gate-1', 'door.always-close', { door: 2 })).toMatchObject({ ok: true });
    await waitFor('always-close', () => h.eventsOf('gate-1', 'door.state').some((e) => e.data.state === 'always-close'));
    expect(sim.model.state().doors[1]).toMatchObject({ mode: 'always-close' });
    expect(await h.execute('gate-1', 'door.close', { door: 1 })).toMatchObject({ ok: true });
    expect(sim.model.state().doors[0]!.open).toBe(false);
  });

  it('reports a command the terminal refuses or cannot take, with what it said', async () => {
    // The site file says 3 doors; the terminal has 2: door 3 is refused by the terminal.
    const { h, sim } = await rig({ device: { doors: 3 } });
    const refused = await h.execute('gate-1', 'door.open', { door: 3 });
    expect(refused).toMatchObject({ ok: false, error: expect.stringMatching(/gate-1 door 3 open: .*HTTP 400: Invalid Operation \(doorNoError\)/) });
    expect(await h.execute('gate-1', 'door.open', { door: 4 })).toMatchObject({ ok: false, error: /has 3 door\(s\); there is no door 4/ });
    expect(await h.execute('gate-1', 'door.open', { door: 'one' })).toMatchObject({ ok: false, error: /bad arguments for door.open/ });
    sim.setOffline(true);
    expect(await h.execute('gate-1', 'door.open', {})).toMatchObject({ ok: false, error: /gate-1 door 1 open: / });
  });

  it('refuses commands when the gateway has the wrong password for the terminal', async () => {
    const { h } = await rig({ device: { api: { username: 'admin', password: 'wrong' } } });
    expect(await h.execute('gate-1', 'door.open', {})).toMatchObject({ ok: false, error: /refused the gateway's credentials \(HTTP 401\)/ });
  });
});
