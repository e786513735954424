/**
 * The staff console's HTTP side in the real gateway (gas simulator over Modbus TCP): session
 * cookies, roles, the CSRF checks, acknowledge with the user recorded in the alarm and in the
 * audit table, an alarm's history with its linkage outcomes, the static bundle and the old page's redirect.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGasSimulatorTcp } from '../../simulators/gas-detector/index.js';
import { hashPassword } from '../auth/password.js';
import { waitFor } from '../testing/wait-for.js';
import {
  bootGateway,
  CONSOLE_PASSWORD,
  CONSOLE_USER,
  feedClient,
  siteConfig,
  startGasSim,
} from '../alarms/testing/gateway-harness.js';
import { consoleClient } from './testing/console-client.js';

const ADMIN = 'boss';
const ADMIN_PASSWORD = 'boss-pass';

describe('staff console API', () => {
  let sim: RunningGasSimulatorTcp;
  let gw: Awaited<ReturnType<typeof bootGateway>>;
  let url: string;
  beforeAll(async () => {
    sim = await startGasSim();
    sim.sim.setLel(1, 0);
    const accounts = [
      { username: CONSOLE_USER, role: 'reader', passwordHash: hashPassword(CONSOLE_PASSWORD) },
      { username: ADMIN, role: 'admin', passwordHash: hashPassword(ADMIN_PASSWORD) },
    ];
    // A latched rule of the site (as an emergency button's): a detector fault stays until reset.
    const rules = [
      {
        id: 'gas-fault-latched',
        severity: 'major',
        message: '燃气探测器故障（需复位）：{device.id}',
        match: { type: 'gas.fault', devices: { family: 'gas-detector' } },
        latch: true,
        clear: 'manual',
      },
    ];
    gw = await bootGateway(
      siteConfig(sim, {
        broker: { listeners: [{ type: 'tcp', host: '127.0.0.1', port: 0 }], accounts },
        http: { host: '127.0.0.1', port: 0, console: { idleTimeout: '20m' } },
        rules,
      }),
    );
    url = gw.http.url;
  });
  afterAll(async () => {
    await gw?.close();
    await sim?.close();
  });

  it('logs in with a cookie scoped to /console, knows the session, and logs out', async () => {
    const c = consoleClient(url);
    expect((await c.call('GET', '/session')).status).toBe(401);
    expect((await c.login(CONSOLE_USER, 'wrong')).status).toBe(401);
    const r = await c.login(CONSOLE_USER, CONSOLE_PASSWORD);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ user: CONSOLE_USER, role: 'reader', idleTimeoutMs: 20 * 60_000 });
    expect(r.headers.get('set-cookie')).toMatch(/^cg_console=[\w-]{40,}; HttpOnly; SameSite=Strict; Path=\/console$/);
    expect((await c.call('GET', '/session')).body).toMatchObject({ user: CONSOLE_USER, role: 'reader' });
    const session = c.cookie;
    expect((await c.call('POST', '/logout')).status).toBe(204);
    expect(c.cookie).toBeUndefined();
    // The old cookie is dead on the server too.
    expect((await c.call('GET', '/session', undefined, { cookie: session! })).status).toBe(401);
  });

  it('refuses state changes without JSON or from another origin', async () => {
    const c = consoleClient(url);
    const noJson = await c.call('POST', '/login', undefined, { 'content-type': 'text/plain' });
    expect(noJson.status).toBe(415);
    const foreign = await c.call('POST', '/login', { username: CONSOLE_USER, password: CONSOLE_PASSWORD }, { origin: 'http://evil.example' });
    expect(foreign.status).toBe(403);
    expect(foreign.body.error).toMatch(/origin http:\/\/evil.example/);
    expect(c.cookie).toBeUndefined();
  });

  it('lets only admins read the audit trail', async () => {
    const reader = consoleClient(url);
    await reader.login(CONSOLE_USER, CONSOLE_PASSWORD);
    const refused = await reader.call('GET', '/audit');
    expect(refused.status).toBe(403);
    expect(refused.body.error).toMatch(/role reader may not/);
    const admin = consoleClient(url);
    await admin.login(ADMIN, ADMIN_PASSWORD);
    const audit = await admin.call('GET', '/audit');
    expect(audit.status).toBe(200);
    expect(audit.body.entries[0]).toMatchObject({ user: ADMIN, role: 'admin', action: 'login', result: 'ok', from: '127.0.0.1' });
  });

  it('acknowledges a gas alarm as the logged-in user, audited, with the valve linkage in its history', async () => {
    const c = consoleClient(url);
    await c.login(CONSOLE_USER, CONSOLE_PASSWORD);
    sim.sim.setLel(1, 60);
    const alarm = await waitFor('the gas alarm in the console', async () =>
      ((await c.call('GET', '/alarms')).body.active as { id: string; rule: string }[]).find((a) => a.rule === 'gas-high'),
    );
    const ack = await c.call('POST', `/alarms/${alarm.id}/ack`, { note: '已通知住户开窗' });
    expect(ack.status).toBe(200);
    expect(ack.body).toMatchObject({ state: 'acknowledged', acknowledged: { by: CONSOLE_USER, note: '已通知住户开窗' } });
    const again = await c.call('POST', `/alarms/${alarm.id}/ack`, {});
    expect(again.status).toBe(409);
    // Resolve is for non-latched alarms only; a reset for latched ones.
    expect((await c.call('POST', `/alarms/${alarm.id}/reset`, { note: 'x' })).status).toBe(409);

    const detail = await waitFor('the valve outcome in the history', async () => {
      const d = (await c.call('GET', `/alarms/${alarm.id}`)).body as { history: { what: string; detail?: { command?: string } }[] };
      return d.history.some((h) => h.what === 'action' && h.detail?.command === 'valve.close') && d;
    });
    expect(detail.history.map((h) => h.what)).toContain('acknowledged');

    const admin = consoleClient(url);
    await admin.login(ADMIN, ADMIN_PASSWORD);
    const entries = (await admin.call('GET', '/audit')).body.entries as { action: string; target: string; user: string; note?: string; result: string }[];
    expect(entries.find((e) => e.action === 'ack' && e.result === 'ok')).toMatchObject({
      user: CONSOLE_USER,
      target: alarm.id,
      note: '已通知住户开窗',
    });
    expect(entries.find((e) => e.action === 'ack' && e.result !== 'ok')?.result).toMatch(/^refused: already acknowledged/);
    const resolved = await c.call('POST', `/alarms/${alarm.id}/resolve`, { note: '浓度已恢复' });
    expect(resolved.body).toMatchObject({ state: 'resolved', resolved: { by: CONSOLE_USER } });
    sim.sim.setLel(1, 0);
  });

  it('ends a latched alarm only by a reset with a note (API and feed alike)', async () => {
    const c = consoleClient(url);
    await c.login(CONSOLE_USER, CONSOLE_PASSWORD);
    sim.sim.setFault(2, 3);
    const alarm = await waitFor('the latched alarm', async () =>
      ((await c.call('GET', '/alarms')).body.active as { id: string; rule: string; latch: boolean }[]).find(
        (a) => a.rule === 'gas-fault-latched',
      ),
    );
    expect(alarm.latch).toBe(true);
    sim.sim.setFault(2, 0); // the fault goes away: the alarm stays
    expect((await c.call('POST', `/alarms/${alarm.id}/resolve`, { note: 'x' })).status).toBe(409);
    const noNote = await c.call('POST', `/alarms/${alarm.id}/reset`, { note: '  ' });
    expect(noNote.status).toBe(400);
    expect(noNote.body.error).toMatch(/a reset needs a note/);
    const feed = await feedClient(url);
    try {
      await waitFor('the feed login', () => feed.messages.find((m) => m.type === 'login'));
      const viaFeed = await feed.request({ op: 'resolve', alarmId: alarm.id });
      expect(viaFeed).toMatchObject({ ok: false, error: 'a latched alarm is reset with a note: send note' });
    } finally {
      feed.close();
    }
    expect(gw.alarms!.engine.activeAlarms().some((a) => a.id === alarm.id)).toBe(true);

    const reset = await c.call('POST', `/alarms/${alarm.id}/reset`, { note: '更换传感器后恢复' });
    expect(reset.status).toBe(200);
    expect(reset.body).toMatchObject({ state: 'resolved', active: false, resolved: { by: CONSOLE_USER, note: '更换传感器后恢复' } });
  });

  it('serves the bundle (hashed assets immutable, index revalidated) and redirects the old page', async () => {
    const index = await fetch(`${url}/console/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('cache-control')).toBe('no-cache');
    const html = await index.text();
    const js = /src="\.\/(app-[A-Z0-9]+\.js)"/.exec(html)?.[1];
    const css = /href="\.\/(app-[A-Z0-9]+\.css)"/.exec(html)?.[1];
    expect(js && css).toBeTruthy();
    for (const f of [js, css]) {
      const r = await fetch(`${url}/console/${f}`);
      expect(r.status).toBe(200);
      expect(r.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    }
    expect((await fetch(`${url}/console/nope.js`)).status).toBe(404);
    const old = await fetch(`${url}/alarms/console`, { redirect: 'manual' });
    expect(old.status).toBe(301);
    expect(old.headers.get('location')).toBe('/console/');
  });

  // Last: it locks this test's source address out of every console login for a while.
  it('throttles password guessing through the gateway LoginGuard and tells the wait', async () => {
    const c = consoleClient(url);
    let r = await c.login('nobody', 'guess-0');
    for (let i = 1; i < 30 && r.status === 401; i++) r = await c.login('nobody', `guess-${i}`);
    expect(r.status).toBe(429);
    expect(r.body.retryAfterMs).toBeGreaterThan(0);
    expect(Number(r.headers.get('retry-after'))).toBe(r.body.retryAfterMs / 1000);
    // Answered at once from now on, without checking the password.
    expect((await c.login('nobody', 'guess-again')).status).toBe(429);
  });
});
