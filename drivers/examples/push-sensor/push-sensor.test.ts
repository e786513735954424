import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { freePort } from '../../../gateway/core/free-port.js';
import type { DriverConfig } from '../../../gateway/devices/driver-api.js';
import { startDeviceBroker } from '../../../gateway/devices/testing/device-broker.js';
import { type HostHarness, startHost } from '../../../gateway/devices/testing/host-harness.js';
import { MAX_BODY_BYTES, pushSensor } from './index.js';
import { ManualClock } from '../../../gateway/devices/testing/manual-clock.js';


const TOKENS = { 's-1': 'token-of-s1-0123456789', 's-2': 'token-of-s2-0123456789' } as const;
const dir = mkdtempSync(join(tmpdir(), 'push-sensor-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function until(what: string, cond: () => boolean): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for: ${what}`);
}

/** The real host running one push-sensor instance, its listener on a free loopback port. */
async function boot(o: { dbPath?: string } = {}) {
  const port = await freePort();
  const clock = new ManualClock(1_800_000_000_000);
  const config = pushSensor.configSchema.parse({
    id: 'sensors',
    family: 'push-sensor',
    listen: { host: '127.0.0.1', port },
    devices: Object.entries(TOKENS).map(([id, token]) => ({ id, token })),
  }) as DriverConfig;
  const h = startHost({ families: [pushSensor], drivers: [config], clock, ...(o.dbPath ? { dbPath: o.dbPath } : {}) });
  cleanup.push(h.close);
  await until('driver running', () => h.host.status()[0]?.state === 'running');
  const url = `http://127.0.0.1:${port}`;
  const post = (path: string, body: unknown, token?: string) =>
    fetch(`${url}${path}`, {
      method: 'POST',
      body: typeof body === 'string' ? body : JSON.stringify(body),
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });
  return { h, clock, url, post };
}

const readings = (h: HostHarness, id = 's-1') =>
  h.eventsOf(id, 'sensor.reading').map((e) => e.data as { seq: number; value: number });

async function refused(h: HostHarness, reason: string): Promise<number> {
  const m = await h.metrics.driverRefused.get();
  return m.values.find((v) => v.labels.reason === reason && v.labels.driver === 'sensors')?.value ?? 0;
}

describe('push-sensor under the driver host', () => {
  it('HTTP: a reading with the device token is an event, once; bad input is refused and counted', async () => {
    const { h, post } = await boot();
    const ok = await post('/devices/s-1/readings', { seq: 1, value: 20.5 }, TOKENS['s-1']);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ ack: 1 });
    expect(readings(h)).toEqual([{ seq: 1, value: 20.5 }]);
    expect(h.online('s-1')).toBe(true);
    // The device retries (it missed the answer): acknowledged again, not reported twice.
    expect(await (await post('/devices/s-1/readings', { seq: 1, value: 20.5 }, TOKENS['s-1'])).json()).toEqual({
      ack: 1,
      duplicate: true,
    });
    expect(readings(h)).toHaveLength(1);

    expect((await post('/devices/s-1/readings', { seq: 2, value: 1 }, TOKENS['s-2'])).status).toBe(401);
    expect((await post('/devices/s-1/readings', { seq: 2, value: 1 })).status).toBe(401);
    expect((await post('/devices/s-9/readings', { seq: 2, value: 1 }, TOKENS['s-1'])).status).toBe(401);
    const big = { seq: 2, value: 1, pad: 'x'.repeat(MAX_BODY_BYTES) };
    expect((await post('/devices/s-1/readings', big, TOKENS['s-1'])).status).toBe(413);
    expect((await post('/nowhere', {}, TOKENS['s-1'])).status).toBe(404);
    expect((await post('/devices/s-1/readings', 'not json', TOKENS['s-1'])).status).toBe(400);
    expect((await post('/devices/s-1/readings', { seq: -1, value: 'hot' }, TOKENS['s-1'])).status).toBe(400);

    expect(readings(h)).toHaveLength(1);
    expect(await refused(h, 'auth')).toBe(2);
    expect(await refused(h, 'unknown-sender')).toBe(1);
    expect(await refused(h, 'too-large')).toBe(1);
    expect(await refused(h, 'unknown-route')).toBe(1);
    expect(await refused(h, 'shape')).toBe(1);
    // Well-formed JSON from the device that is not a reading is invalid data, not a refusal.
    expect(h.invalids).toHaveLength(1);
    expect(h.invalids[0]).toMatchObject({ deviceId: 's-1' });
  });

  it('WebSocket: an upgrade with the token streams readings, each acknowledged; a bad token is 401', async () => {
    const { h, url } = await boot();
    const wsUrl = `${url.replace('http', 'ws')}/devices/s-2/stream`;
    const ws = new WebSocket(wsUrl, { headers: { authorization: `Bearer ${TOKENS['s-2']}` } });
    cleanup.push(async () => ws.terminate());
    const answers: unknown[] = [];
    ws.on('message', (m) => answers.push(JSON.parse(String(m))));
    await new Promise<void>((resolve, reject) => ws.once('open', resolve).once('error', reject));
    ws.send(JSON.stringify({ seq: 1, value: 3 }));
    ws.send(JSON.stringify({ seq: 2, value: 4, time: '2026-01-01T00:00:00Z' }));
    ws.send(JSON.stringify({ heartbeat: true }));
    await until('three answers', () => answers.length === 3);
    expect(answers).toEqual([{ ack: 1 }, { ack: 2 }, { ok: true }]);
    expect(readings(h, 's-2')).toEqual([
      { seq: 1, value: 3 },
      { seq: 2, value: 4 },
    ]);
    expect(h.eventsOf('s-2')[1]!.deviceTime?.toISOString()).toBe('2026-01-01T00:00:00.000Z');

    const status = await new Promise<number>((resolve) => {
      const bad = new WebSocket(wsUrl, { headers: { authorization: `Bearer ${TOKENS['s-1']}` } });
      bad.once('unexpected-response', (_req, res) => {
        resolve(res.statusCode ?? 0);
        bad.terminate();
      });
      bad.once('error', () => {});
    });
    expect(status).toBe(401);
    expect(await refused(h, 'auth')).toBe(1);
  });

  it('MQTT on the embedded broker: a device publish is an event before its PUBACK; a device the driver does not know is refused', async () => {
    const { h } = await boot();
    const broker = await startDeviceBroker({
      devices: { 's-1': 'mqtt-pass-1', stranger: 'mqtt-pass-x' },
      onDevicePublish: h.host.onDevicePublish,
    });
    cleanup.push(broker.close);
    const dev = await broker.device('s-1');
    await dev.publishAsync('dev/s-1/reading', JSON.stringify({ seq: 5, value: 9.5 }), { qos: 1 });
    // The host's handler ran before the broker acknowledged: no wait needed.
    expect(readings(h)).toEqual([{ seq: 5, value: 9.5 }]);
    await dev.publishAsync('dev/s-1/reading', JSON.stringify({ seq: 5, value: 9.5 }), { qos: 1 });
    expect(readings(h)).toHaveLength(1);

    const stranger = await broker.device('stranger');
    await stranger.publishAsync('dev/stranger/reading', JSON.stringify({ seq: 1, value: 1 }), { qos: 1 });
    expect(readings(h, 'stranger')).toEqual([]);
    expect(await refused(h, 'unknown-sender')).toBe(1);
  });

  it('liveness: a device silent for livenessTimeoutMs goes offline; a heartbeat brings it back', async () => {
    const { h, clock, post } = await boot();
    expect((await post('/devices/s-1/heartbeat', '', TOKENS['s-1'])).status).toBe(200);
    expect(h.online('s-1')).toBe(true);
    clock.advance(pushSensor.livenessTimeoutMs! - 1);
    expect(h.online('s-1')).toBe(true);
    clock.advance(1);
    expect(h.online('s-1')).toBe(false);
    expect(h.availabilityLog.filter((a) => a.deviceId === 's-1').at(-1)?.reason).toMatch(/not heard from for 60 s/);
    expect((await post('/devices/s-1/readings', { seq: 1, value: 1 }, TOKENS['s-1'])).status).toBe(200);
    expect(h.online('s-1')).toBe(true);
  });

  it('durable state: after a restart on the same database, readings already reported are not reported again', async () => {
    const dbPath = join(dir, 'restart.db');
    const first = await boot({ dbPath });
    for (const seq of [1, 2]) await first.post('/devices/s-1/readings', { seq, value: seq }, TOKENS['s-1']);
    expect(readings(first.h).map((r) => r.seq)).toEqual([1, 2]);
    await cleanup.pop()!();

    const second = await boot({ dbPath });
    // The device resends everything it has not seen acknowledged, and one new reading.
    for (const seq of [1, 2, 3]) await second.post('/devices/s-1/readings', { seq, value: seq }, TOKENS['s-1']);
    expect(readings(second.h).map((r) => r.seq)).toEqual([3]);
  });
});
