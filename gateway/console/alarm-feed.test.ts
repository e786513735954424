import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { Alarm, LifecycleResult } from '../core/alarm-types.js';
import { hashPassword } from '../auth/password.js';
import { LoginGuard } from '../auth/login-guard.js';
import { createLogger } from '../core/logger.js';
import { AlarmFeed, type AlarmFeedOptions, CLOSE_LOGIN_TIMEOUT, type FeedRefusal, originAllowed } from './alarm-feed.js';
import { sampleAlarm } from '../testing/sample-alarm.js';
import { registerAlarmRoutes } from './console-routes.js';
import { ConsoleSessions } from './sessions.js';
import { waitFor } from '../testing/wait-for.js';

const ALARM = sampleAlarm();

const accounts = [
  { username: 'duty1', role: 'reader', passwordHash: hashPassword('pw') },
  { username: 'bin-7', role: 'device', passwordHash: hashPassword('pw') },
];

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

async function setup(demo: boolean, extra: Partial<AlarmFeedOptions> = {}) {
  const routes = new Map<string, (req: IncomingMessage, res: ServerResponse) => void>();
  const server = createServer((req, res) => {
    const h = routes.get((req.url ?? '').split('?')[0] ?? '');
    if (h) h(req, res);
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const acks: string[] = [];
  const engine = {
    activeAlarms: () => [ALARM],
    acknowledge: (id: string, by: string): LifecycleResult => {
      acks.push(`${id}:${by}`);
      return {
        ok: true,
        alarm: { ...ALARM, state: 'acknowledged', acknowledged: { by, at: ALARM.raisedAt } },
      };
    },
    resolve: (): LifecycleResult => ({ ok: false, error: 'nope' }),
  };
  const refusals: FeedRefusal[] = [];
  const feed = new AlarmFeed({
    server,
    engine,
    accounts,
    demo,
    log: createLogger('silent'),
    onRefused: (r) => refusals.push(r),
    ...extra,
  });
  registerAlarmRoutes({
    route: (p, h) => void routes.set(p, h),
    activeAlarms: engine.activeAlarms,
    accounts,
    demo,
  });
  const url = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  cleanup.push(async () => {
    await feed.close();
    await new Promise<void>((r) => server.close(() => r()));
  });
  return { url, feed, acks, refusals };
}

/** Resolves with the HTTP status of a refused upgrade, or 101 once the socket is open. */
function upgrade(url: string, origin?: string): Promise<{ status: number; ws: WebSocket }> {
  const ws = new WebSocket(`ws://${url}/alarms/feed`, origin === undefined ? {} : { origin });
  cleanup.push(async () => ws.terminate());
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ status: 101, ws }));
    ws.once('unexpected-response', (_req, res) => resolve({ status: res.statusCode ?? 0, ws }));
    ws.once('error', (err) => reject(err));
  });
}

async function client(url: string) {
  const ws = new WebSocket(`ws://${url}/alarms/feed`);
  const msgs: Record<string, unknown>[] = [];
  const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
  ws.on('message', (d) => msgs.push(JSON.parse(d.toString())));
  await new Promise((r) => ws.once('open', r));
  cleanup.push(async () => ws.close());
  const wait = async (pred: (m: Record<string, unknown>) => boolean) => {
    for (let i = 0; i < 500; i++) {
      const m = msgs.find(pred);
      if (m) return m;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error('no such message');
  };
  return { ws, msgs, wait, closed, send: (m: unknown) => ws.send(JSON.stringify(m)) };
}

describe('console alarm feed', () => {
  it('requires a login outside demo mode; then snapshot, changes, and ack with the user identity', async () => {
    const { url, feed, acks } = await setup(false);
    const c = await client(url);
    await c.wait((m) => m.type === 'hello');
    c.send({ op: 'ack', alarmId: ALARM.id, req: 'a1' });
    expect(await c.wait((m) => m.req === 'a1')).toMatchObject({
      ok: false,
      error: 'log in to acknowledge or resolve',
    });
    expect(c.msgs.some((m) => m.type === 'snapshot')).toBe(false);
    c.send({ op: 'login', username: 'bin-7', password: 'pw', req: 'l0' });
    expect(await c.wait((m) => m.req === 'l0')).toMatchObject({ ok: false }); // device accounts never
    c.send({ op: 'login', username: 'duty1', password: 'pw', req: 'l1' });
    expect(await c.wait((m) => m.req === 'l1')).toMatchObject({ ok: true, user: 'duty1', role: 'reader' });
    const snap = await c.wait((m) => m.type === 'snapshot');
    expect((snap.alarms as Alarm[])[0]?.id).toBe(ALARM.id);
    c.send({ op: 'ack', alarmId: ALARM.id, req: 'a2' });
    expect(await c.wait((m) => m.req === 'a2')).toMatchObject({
      ok: true,
      alarm: { acknowledged: { by: 'duty1' } },
    });
    expect(acks).toEqual([`${ALARM.id}:duty1`]);
    feed.publish({ type: 'alarm.raised', id: 'x' } as never, '{"type":"alarm.raised"}');
    feed.publish({ type: 'gas.reading', id: 'y' } as never, '{"type":"gas.reading"}');
    expect(await c.wait((m) => m.type === 'alarm')).toEqual({
      type: 'alarm',
      event: { type: 'alarm.raised' },
    });
    c.send({ op: 'resolve', alarmId: ALARM.id, req: 'r1' });
    expect(await c.wait((m) => m.req === 'r1')).toMatchObject({ ok: false, error: 'nope' });
    expect(c.msgs.filter((m) => m.type === 'alarm')).toHaveLength(1);

    // GET /alarms needs the same login; the old console page (now a redirect to /console/) does not.
    expect((await fetch(`http://${url}/alarms`)).status).toBe(401);
    const ok = await fetch(`http://${url}/alarms`, {
      headers: { authorization: `Basic ${Buffer.from('duty1:pw').toString('base64')}` },
    });
    expect(await ok.json()).toMatchObject({ active: [{ id: ALARM.id }] });
    const page = await fetch(`http://${url}/alarms/console`, { redirect: 'manual' });
    expect(page.status).toBe(301);
    expect(page.headers.get('location')).toBe('/console/');
  });

  it('demo mode: anonymous clients watch, but cannot acknowledge', async () => {
    const { url } = await setup(true);
    const c = await client(url);
    await c.wait((m) => m.type === 'snapshot');
    c.send({ op: 'ack', alarmId: ALARM.id, req: 'a1' });
    expect(await c.wait((m) => m.req === 'a1')).toMatchObject({ ok: false });
    expect((await fetch(`http://${url}/alarms`)).status).toBe(200);
  });

  it('closes a connection that does not log in in time (the logged-in one stays)', async () => {
    const { url, refusals } = await setup(false, { loginTimeoutMs: 300 });
    const early = await client(url);
    expect(await early.wait((m) => m.type === 'hello')).toMatchObject({ loginRequired: true, loginTimeoutMs: 300 });
    early.send({ op: 'login', username: 'duty1', password: 'pw', req: 'l1' });
    expect(await early.wait((m) => m.req === 'l1')).toMatchObject({ ok: true });
    const idle = await client(url);
    // the idle client's timer was armed after the early one's: once it fires, the early one's would have too
    expect(await idle.closed).toBe(CLOSE_LOGIN_TIMEOUT);
    expect(early.ws.readyState).toBe(WebSocket.OPEN);
    expect(refusals).toEqual(['feed-login-timeout']);
  });

  it('refuses a page of another origin before the upgrade; same origin, the allow-list and non-browser clients get in', async () => {
    const { url, refusals } = await setup(false, { allowedOrigins: ['https://console.example.org'] });
    expect((await upgrade(url, 'http://evil.example')).status).toBe(403);
    expect((await upgrade(url, 'null')).status).toBe(403);
    expect((await upgrade(url, `http://${url}`)).status).toBe(101);
    expect((await upgrade(url, 'https://console.example.org')).status).toBe(101);
    expect((await upgrade(url)).status).toBe(101); // no Origin: not a browser (it still has to log in)
    expect(refusals).toEqual(['feed-origin', 'feed-origin']);

    expect(originAllowed('http://gw.local:8080', 'gw.local:8080', [])).toBe(true);
    expect(originAllowed('http://GW.local:80', 'gw.local', [])).toBe(true);
    expect(originAllowed('https://gw.local:8080', 'gw.local:8080', [])).toBe(true);
    expect(originAllowed('http://gw.local:8081', 'gw.local:8080', [])).toBe(false);
    expect(originAllowed('http://evil.example', 'gw.local:8080', [])).toBe(false);
    expect(originAllowed('http://evil.example', undefined, [])).toBe(false);
    expect(originAllowed('file://', 'gw.local:8080', [])).toBe(false);
    expect(originAllowed('https://ops.example:8443', 'gw.local', ['https://ops.example:8443'])).toBe(true);
  });

  it('caps connections: one over the cap is refused (and counted) until a place is free', async () => {
    const { url, feed, refusals } = await setup(false, { maxClients: 2 });
    const a = await upgrade(url);
    expect(a.status).toBe(101);
    expect((await upgrade(url)).status).toBe(101);
    expect((await upgrade(url)).status).toBe(503);
    expect(refusals).toEqual(['feed-capacity']);
    a.ws.close();
    for (let i = 0; i < 500 && feed.clientCount > 1; i++) await new Promise((r) => setTimeout(r, 10));
    expect((await upgrade(url)).status).toBe(101);
  });

  it('throttles login guesses through the LoginGuard: after N failures even the right password is refused for a while', async () => {
    const loginGuard = new LoginGuard({ maxFailuresPerSource: 3 });
    const { url, refusals } = await setup(false, { loginGuard });
    const c = await client(url);
    for (let i = 0; i < 3; i++) {
      c.send({ op: 'login', username: 'duty1', password: `guess-${i}`, req: `g${i}` });
      expect(await c.wait((m) => m.req === `g${i}`)).toMatchObject({ ok: false, error: 'wrong user name or password' });
    }
    c.send({ op: 'login', username: 'duty1', password: 'guess-3', req: 'g3' });
    const throttled = await c.wait((m) => m.req === 'g3');
    expect(throttled).toMatchObject({ ok: false, error: expect.stringMatching(/too many failed logins; try again in \d+ s/) });
    expect(throttled.retryAfterMs).toBeGreaterThan(0);
    c.send({ op: 'login', username: 'duty1', password: 'pw', req: 'g4' });
    expect(await c.wait((m) => m.req === 'g4')).toMatchObject({ ok: false, error: expect.stringMatching(/too many/) });
    expect(loginGuard.stats().verifications).toBe(3);
    expect(refusals).toEqual(['throttled', 'throttled']);
    expect(c.msgs.some((m) => m.type === 'snapshot')).toBe(false);
  });

  it('checks one login at a time per connection', async () => {
    const { url } = await setup(false);
    const c = await client(url);
    c.send({ op: 'login', username: 'duty1', password: 'wrong', req: 'a' });
    c.send({ op: 'login', username: 'duty1', password: 'pw', req: 'b' });
    expect(await c.wait((m) => m.req === 'b')).toMatchObject({ ok: false, error: /already being checked/ });
    expect(await c.wait((m) => m.req === 'a')).toMatchObject({ ok: false, error: 'wrong user name or password' });
  });

  it('logs a console session in by its cookie on /console/feed, and closes the socket once the session ends', async () => {
    const sessions = new ConsoleSessions({ idleMs: 60_000, lifetimeMs: 3_600_000 });
    const session = sessions.create('duty1', 'reader', '127.0.0.1');
    const { url, acks } = await setup(false, {
      pingIntervalMs: 50,
      sessionOf: (req) => {
        const s = sessions.of(req);
        return s && { user: s.user, role: s.role, alive: () => sessions.touch(s.id) !== undefined };
      },
    });
    const ws = new WebSocket(`ws://${url}/console/feed`, { headers: { cookie: `other=1; cg_console=${session.id}` } });
    cleanup.push(async () => ws.terminate());
    const msgs: Record<string, unknown>[] = [];
    ws.on('message', (d) => msgs.push(JSON.parse(d.toString()) as Record<string, unknown>));
    const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
    await waitFor('the snapshot', () => msgs.some((m) => m.type === 'snapshot'));
    expect(msgs.find((m) => m.type === 'login')).toMatchObject({ ok: true, user: 'duty1', role: 'reader' });
    ws.send(JSON.stringify({ op: 'ack', alarmId: ALARM.id, req: 'a1' }));
    await waitFor('the ack', () => msgs.some((m) => m.req === 'a1'));
    expect(acks).toEqual([`${ALARM.id}:duty1`]);

    sessions.end(session.id); // logout
    expect(await closed).toBe(CLOSE_LOGIN_TIMEOUT);

    // Without a live session the console path asks for a login like the old one.
    const anon = new WebSocket(`ws://${url}/console/feed`, { headers: { cookie: `cg_console=${session.id}` } });
    cleanup.push(async () => anon.terminate());
    const first = await new Promise<Record<string, unknown>>((r) => anon.once('message', (d) => r(JSON.parse(d.toString()))));
    expect(first).toMatchObject({ type: 'hello', loginRequired: true });
  });
});
