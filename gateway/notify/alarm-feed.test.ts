import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { LifecycleResult } from '../alarms/alarm-engine.js';
import type { Alarm } from '../alarms/alarm-types.js';
import { hashPassword } from '../broker/password.js';
import { createLogger } from '../core/logger.js';
import { AlarmFeed } from './alarm-feed.js';
import { sampleAlarm } from './test/sample-alarm.js';
import { registerAlarmRoutes } from './console-routes.js';

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

async function setup(demo: boolean) {
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
  const feed = new AlarmFeed({ server, engine, accounts, demo, log: createLogger('silent') });
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
  return { url, feed, acks };
}

async function client(url: string) {
  const ws = new WebSocket(`ws://${url}/alarms/feed`);
  const msgs: Record<string, unknown>[] = [];
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
  return { ws, msgs, wait, send: (m: unknown) => ws.send(JSON.stringify(m)) };
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

    // GET /alarms needs the same login; the console page does not.
    expect((await fetch(`http://${url}/alarms`)).status).toBe(401);
    const ok = await fetch(`http://${url}/alarms`, {
      headers: { authorization: `Basic ${Buffer.from('duty1:pw').toString('base64')}` },
    });
    expect(await ok.json()).toMatchObject({ active: [{ id: ALARM.id }] });
    const page = await fetch(`http://${url}/alarms/console`);
    expect(await page.text()).toContain('/alarms/feed');
  });

  it('demo mode: anonymous clients watch, but cannot acknowledge', async () => {
    const { url } = await setup(true);
    const c = await client(url);
    await c.wait((m) => m.type === 'snapshot');
    c.send({ op: 'ack', alarmId: ALARM.id, req: 'a1' });
    expect(await c.wait((m) => m.req === 'a1')).toMatchObject({ ok: false });
    expect((await fetch(`http://${url}/alarms`)).status).toBe(200);
  });
});
