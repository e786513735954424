/**
 * The site pages' API in the real gateway (gas simulator over Modbus TCP): device commands
 * (confirmation, roles, audit, through the gateway's command path to the simulator), the actions
 * that fit an alarm, the drivers' files (path checks), the site plan (picture upload, positions)
 * and the overview's counts.
 */
import { dirname, join } from 'node:path';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGasSimulatorTcp } from '../../simulators/gas-detector/index.js';
import { bootGateway, CONSOLE_PASSWORD, CONSOLE_USER, siteConfig, startGasSim } from '../alarms/testing/gateway-harness.js';
import { hashPassword } from '../auth/password.js';
import { waitFor } from '../testing/wait-for.js';
import { type ConsoleClient, consoleClient } from './testing/console-client.js';

const ADMIN = { username: 'boss', password: 'boss-pass' };
const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from('rest of a picture')]);

describe('console site API', () => {
  let sim: RunningGasSimulatorTcp;
  let gw: Awaited<ReturnType<typeof bootGateway>>;
  let url: string;
  let filesDir: string;
  let reader: ConsoleClient;
  let admin: ConsoleClient;
  const audit = (action: string) =>
    gw.journal.db.prepare('SELECT * FROM console_audit WHERE action = ? ORDER BY id').all(action) as Record<string, unknown>[];

  beforeAll(async () => {
    sim = await startGasSim();
    sim.sim.setLel(1, 0);
    sim.sim.setLel(2, 0);
    const accounts = [
      { username: CONSOLE_USER, role: 'reader', passwordHash: hashPassword(CONSOLE_PASSWORD) },
      { username: ADMIN.username, role: 'admin', passwordHash: hashPassword(ADMIN.password) },
    ];
    const config = siteConfig(sim, { broker: { listeners: [{ type: 'tcp', host: '127.0.0.1', port: 0 }], accounts } });
    gw = await bootGateway(config);
    filesDir = join(dirname(config.journal.path), 'files');
    // The gateway attached its devices, command path and file store to the console when it started.
    url = gw.http.url;
    reader = consoleClient(url);
    admin = consoleClient(url);
    expect((await reader.login(CONSOLE_USER, CONSOLE_PASSWORD)).status).toBe(200);
    expect((await admin.login(ADMIN.username, ADMIN.password)).status).toBe(200);
  });
  afterAll(async () => {
    await gw?.close();
    await sim?.close();
  });

  it('runs a device command only when confirmed, by role, audited, through to the device', async () => {
    const path = '/devices/gas-boiler-1/commands/valve.close';
    const unconfirmed = await reader.call('POST', path, { args: {} });
    expect(unconfirmed.status).toBe(400);
    expect(unconfirmed.body.error).toContain('confirm');
    expect(sim.sim.getValve(1)).toBe(false);

    const closed = await reader.call('POST', path, { args: {}, confirm: true, alarm: 'a-1' });
    expect(closed.status).toBe(200);
    expect(closed.body.result).toMatchObject({ deviceId: 'gas-boiler-1', command: 'valve.close', status: 'ok' });
    expect(sim.sim.getValve(1)).toBe(true);
    expect(audit('valve.close').at(-1)).toMatchObject({ user: CONSOLE_USER, role: 'reader', target: 'gas-boiler-1', result: 'ok', note: 'a-1' });

    // Opening a valve again is for admins only.
    const refused = await reader.call('POST', '/devices/gas-boiler-1/commands/valve.open', { confirm: true });
    expect(refused.status).toBe(403);
    expect(audit('valve.open').at(-1)).toMatchObject({ user: CONSOLE_USER, result: 'refused: role reader' });
    expect(sim.sim.getValve(1)).toBe(true);
    const opened = await admin.call('POST', '/devices/gas-boiler-1/commands/valve.open', { confirm: true });
    expect(opened.status).toBe(200);
    expect(sim.sim.getValve(1)).toBe(false);
    expect(audit('valve.open').at(-1)).toMatchObject({ user: ADMIN.username, role: 'admin', result: 'ok' });

    expect((await admin.call('POST', '/devices/nope/commands/valve.close', { confirm: true })).status).toBe(404);
    const unknown = await admin.call('POST', '/devices/gas-boiler-1/commands/door.open', { confirm: true });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error).toContain('valve.close');
    expect((await consoleClient(url).call('POST', path, { confirm: true })).status).toBe(401);
  });

  it('offers the actions that fit an alarm, admin-only ones to admins only', async () => {
    sim.sim.setLel(1, 60);
    const alarm = await waitFor('the gas alarm', () => gw.alarms.engine.activeAlarms().find((a) => a.device.id === 'gas-boiler-1'), {
      timeoutMs: 20_000,
    });
    const commands = async (c: ConsoleClient) =>
      ((await c.call('GET', `/alarms/${encodeURIComponent(alarm.id)}/actions`)).body.actions as { device: string; command: string }[]).map(
        (a) => `${a.device} ${a.command}`,
      );
    expect(await commands(reader)).toEqual(['gas-boiler-1 valve.close']);
    expect(await commands(admin)).toEqual(['gas-boiler-1 valve.close', 'gas-boiler-1 valve.open']);
    expect((await reader.call('GET', '/alarms/nope/actions')).status).toBe(404);

    // The overview counts it: today and open, by severity.
    const o = (await reader.call('GET', '/overview')).body;
    expect(o.alarms.open.total).toBe(gw.alarms.engine.activeAlarms().length);
    expect(o.alarms.open[alarm.severity]).toBeGreaterThanOrEqual(1);
    expect(o.alarms.today.total).toBeGreaterThanOrEqual(1);
    expect(o.hours).toHaveLength(24);
    expect(o.hours.at(-1).alarms).toBeGreaterThanOrEqual(1);
    expect(o.devices).toEqual([{ family: 'gas-detector', online: 2, offline: 0, unknown: 0, total: 2 }]);
    const readings = (await reader.call('GET', '/devices/gas-boiler-1/series?hours=1')).body as { series: { field: string; points: unknown[] }[] };
    expect(readings.series.find((x) => x.field === 'lel')?.points.length).toBeGreaterThan(0);
    sim.sim.setLel(1, 0);
  });

  it('serves pictures of the file store only, with their content type', async () => {
    mkdirSync(join(filesDir, 'cams', '2026-11-30'), { recursive: true });
    writeFileSync(join(filesDir, 'cams', '2026-11-30', 'snap.jpg'), Buffer.from([0xff, 0xd8, 0xff, 0xe0]));
    writeFileSync(join(filesDir, 'cams', '2026-11-30', 'notes.txt'), 'text');
    writeFileSync(join(dirname(filesDir), 'outside.jpg'), 'outside');
    symlinkSync(join(dirname(filesDir), 'outside.jpg'), join(filesDir, 'cams', 'link.jpg'));
    const get = (ref: string, c = reader) => fetch(`${url}/console/api/files/${ref}`, { headers: c.cookie ? { cookie: c.cookie } : {} });

    const ok = await get(encodeURIComponent('cams/2026-11-30/snap.jpg'));
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toBe('image/jpeg');
    expect(Buffer.from(await ok.arrayBuffer())).toEqual(Buffer.from([0xff, 0xd8, 0xff, 0xe0]));

    expect((await get(encodeURIComponent('../outside.jpg'))).status).toBe(400);
    expect((await get(encodeURIComponent('cams/../../outside.jpg'))).status).toBe(400);
    expect((await get(encodeURIComponent('/etc/passwd'))).status).toBe(400);
    expect((await get(encodeURIComponent('../gw.db'))).status).toBe(400);
    expect((await get(encodeURIComponent('cams/link.jpg'))).status).toBe(403);
    expect((await get(encodeURIComponent('cams/2026-11-30/notes.txt'))).status).toBe(403);
    expect((await get(encodeURIComponent('cams/2026-11-30/gone.jpg'))).status).toBe(404);
    expect((await get(encodeURIComponent('cams/2026-11-30/snap.jpg'), consoleClient(url))).status).toBe(401);
  });

  it('keeps the plan picture and device positions for admins; readers see them', async () => {
    const upload = (c: ConsoleClient, body: Buffer, type = 'image/png', origin = url) =>
      fetch(`${url}/console/api/plan/image`, { method: 'PUT', body: new Uint8Array(body), headers: { 'content-type': type, origin, cookie: c.cookie ?? '' } });
    expect((await upload(reader, PNG)).status).toBe(403);
    expect((await upload(admin, PNG, 'image/png', 'http://evil.example')).status).toBe(403);
    expect((await upload(admin, Buffer.from('GIF89a'), 'image/gif')).status).toBe(415);
    expect((await upload(admin, Buffer.from('not a png'))).status).toBe(400);
    expect((await upload(admin, PNG)).status).toBe(200);
    expect(audit('plan.image').map((e) => e.result)).toEqual(['refused: not a picture', 'ok']);
    const img = await fetch(`${url}/console/api/plan/image`, { headers: { cookie: reader.cookie! } });
    expect(img.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await img.arrayBuffer())).toEqual(PNG);

    expect((await reader.call('PUT', '/plan/positions/gas-b1-101', { x: 0.5, y: 0.5 })).status).toBe(403);
    expect((await admin.call('PUT', '/plan/positions/gas-b1-101', { x: 1.5, y: 0.5 })).status).toBe(400);
    expect((await admin.call('PUT', '/plan/positions/nope', { x: 0.5, y: 0.5 })).status).toBe(404);
    expect((await admin.call('PUT', '/plan/positions/gas-b1-101', { x: 0.25, y: 0.75 })).status).toBe(200);
    const plan = (await reader.call('GET', '/plan')).body;
    expect(plan.image).toMatchObject({ type: 'image/png' });
    expect(plan.positions).toEqual({ 'gas-b1-101': { x: 0.25, y: 0.75 } });
    expect(plan.devices).toContainEqual(expect.objectContaining({ id: 'gas-b1-101', building: 'B1', zone: 'kitchen-101', state: 'online' }));
  });
});
