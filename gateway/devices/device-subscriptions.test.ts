import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { captureLog } from '../broker/broker-test-kit.js';
import type { DeviceMessage } from './driver-api.js';
import { DeviceSubscriptions } from './device-subscriptions.js';
import { type DeviceBroker, startDeviceBroker } from './testing/device-broker.js';
import { type RunningMosquitto, startExternalBroker } from './testing/external-broker.js';

const clients: MqttClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
});

async function waitFor(what: string, cond: () => boolean): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for: ${what}`);
}

function recorder() {
  const reasons: string[] = [];
  return { reasons, refused: (reason: string) => void reasons.push(reason) };
}

describe('local broker subscriptions', () => {
  let broker: DeviceBroker;
  let subs: DeviceSubscriptions;
  let lines: string[];

  beforeAll(async () => {
    const cap = captureLog('debug');
    lines = cap.lines;
    subs = new DeviceSubscriptions({ log: cap.log });
    broker = await startDeviceBroker({ devices: { 's-1': 's1-pass' }, onDevicePublish: subs.onDevicePublish, log: cap.log });
  });
  afterAll(async () => {
    await broker?.close();
  });

  const device = () => broker.device('s-1');

  it('delivers a device publish to the matching subscription before the PUBACK', async () => {
    const r = recorder();
    const set = subs.forDriver('push-1', undefined, r.refused);
    const got: DeviceMessage[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let entered!: () => void;
    const handlerEntered = new Promise<void>((resolve) => (entered = resolve));
    set.subscribe('dev/+/reading', async (msg) => {
      entered();
      await gate;
      got.push(msg);
    });
    set.subscribe('dev/+/other', () => {
      throw new Error('must not be called');
    });
    await set.start();
    const dev = await device();
    let acked = false;
    const published = dev.publishAsync('dev/s-1/reading', '{"seq":1}', { qos: 1 }).then(() => (acked = true));
    await handlerEntered;
    expect(acked).toBe(false);
    release();
    await published;
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ topic: 'dev/s-1/reading', username: 's-1' });
    expect(got[0]!.payload.toString()).toBe('{"seq":1}');
    expect(r.reasons).toEqual([]);
    await set.close();
  });

  it('a handler that throws is logged and counted, and the publish still acknowledged', async () => {
    const r = recorder();
    const set = subs.forDriver('push-2', undefined, r.refused);
    const got: string[] = [];
    set.subscribe('dev/+/reading', (msg) => {
      if (msg.payload.toString() === 'bad') throw new Error('cannot parse');
      got.push(msg.payload.toString());
    });
    const dev = await device();
    await dev.publishAsync('dev/s-1/reading', 'bad', { qos: 1 });
    await dev.publishAsync('dev/s-1/reading', 'good', { qos: 1 });
    // A topic nobody subscribed to is acknowledged and ignored.
    await dev.publishAsync('dev/s-1/unheard', 'x', { qos: 1 });
    expect(got).toEqual(['good']);
    expect(r.reasons).toEqual(['handler-error']);
    expect(lines.some((l) => l.includes('device message handler failed') && l.includes('push-2'))).toBe(true);
    await set.close();
  });

  it('close() removes only that driver’s subscriptions', async () => {
    const a = subs.forDriver('a', undefined, () => {});
    const b = subs.forDriver('b', undefined, () => {});
    const gotA: string[] = [];
    const gotB: string[] = [];
    a.subscribe('dev/#', (m) => void gotA.push(m.topic));
    b.subscribe('dev/s-1/+', (m) => void gotB.push(m.topic));
    const before = subs.localCount;
    await a.close();
    expect(subs.localCount).toBe(before - 1);
    const dev = await device();
    await dev.publishAsync('dev/s-1/reading', '1', { qos: 1 });
    expect(gotB).toEqual(['dev/s-1/reading']);
    expect(gotA).toEqual([]);
    expect(() => a.subscribe('dev/#', () => {})).toThrow(/closed/);
    await b.close();
  });

  it('an external subscription without mqtt: in the config says what to add; a bad filter is refused', () => {
    const set = subs.forDriver('push-3', undefined, () => {});
    expect(() => set.subscribe('app/#', () => {}, { broker: 'external' })).toThrow(
      /driver push-3 has no mqtt: in its config; add mqtt: \{url\}/,
    );
    expect(() => set.subscribe('dev/#/x', () => {})).toThrow(/invalid MQTT topic filter/);
  });
});

describe('external broker subscriptions (mosquitto)', () => {
  let dir: string;
  let mosquitto: RunningMosquitto;
  let passwordFile: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cg-ext-'));
    mosquitto = await startExternalBroker(dir, { gateway: 'gw-secret', lns: 'lns-secret' });
    passwordFile = join(dir, 'gw-password');
    writeFileSync(passwordFile, 'gw-secret\n');
  });
  afterAll(async () => {
    await mosquitto?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function lns(): Promise<MqttClient> {
    const c = await connectAsync(mosquitto.url, { username: 'lns', password: 'lns-secret', reconnectPeriod: 0 });
    clients.push(c);
    return c;
  }

  it('delivers in order, counts a failing handler and still acknowledges it', async () => {
    const { log } = captureLog('silent');
    const subs = new DeviceSubscriptions({ log });
    const r = recorder();
    const set = subs.forDriver('lora-1', { url: mosquitto.url, username: 'gateway', passwordFile }, r.refused);
    const got: string[] = [];
    set.subscribe(
      'app/+/up',
      async (m) => {
        if (m.payload.toString() === 'poison') throw new Error('cannot decode');
        // Yield between messages: order must hold even when a handler awaits.
        await new Promise((resolve) => setImmediate(resolve));
        got.push(`${m.topic}=${m.payload.toString()}`);
      },
      { broker: 'external' },
    );
    await set.start();
    const pub = await lns();
    for (const p of ['1', '2', 'poison', '3', '4']) await pub.publishAsync('app/d-1/up', p, { qos: 1 });
    await waitFor('four messages', () => got.length === 4);
    expect(got).toEqual(['app/d-1/up=1', 'app/d-1/up=2', 'app/d-1/up=3', 'app/d-1/up=4']);
    expect(r.reasons).toEqual(['handler-error']);
    await set.close();
  });

  it('keeps a session under a stable client id: what was published while the driver was stopped arrives', async () => {
    const { log } = captureLog('silent');
    const subs = new DeviceSubscriptions({ log });
    const external = { url: mosquitto.url, username: 'gateway', passwordFile, clientId: 'cg-lora-2' };
    const first = subs.forDriver('lora-2', external, () => {});
    first.subscribe('app/+/up', () => {}, { broker: 'external' });
    await first.start();
    await first.close();

    const pub = await lns();
    await pub.publishAsync('app/d-2/up', 'while-away', { qos: 1 });

    const got: string[] = [];
    const second = subs.forDriver('lora-2', external, () => {});
    second.subscribe('app/+/up', (m) => void got.push(m.payload.toString()), { broker: 'external' });
    await second.start();
    await waitFor('queued message', () => got.length === 1);
    expect(got).toEqual(['while-away']);
    await second.close();
  });

  it('reconnects after the broker restarted and subscribes again (the new broker kept no session)', async () => {
    const { log } = captureLog('silent');
    const subs = new DeviceSubscriptions({ log, reconnectPeriodMs: 100 });
    const own = mkdtempSync(join(tmpdir(), 'cg-ext-restart-'));
    let broker = await startExternalBroker(own, { gateway: 'gw-secret', lns: 'lns-secret' });
    const got: string[] = [];
    const set = subs.forDriver('lora-5', { url: broker.url, username: 'gateway', passwordFile }, () => {});
    set.subscribe('app/+/up', (m) => void got.push(m.payload.toString()), { broker: 'external' });
    await set.start();
    await broker.stop();
    broker = await startExternalBroker(own, { gateway: 'gw-secret', lns: 'lns-secret' }, broker.port);
    const pub = await connectAsync(broker.url, { username: 'lns', password: 'lns-secret', reconnectPeriod: 0 });
    clients.push(pub);
    // Publish until one arrives: the driver's client reconnects on its own schedule.
    for (let i = 0; got.length === 0 && i < 200; i++) {
      await pub.publishAsync('app/d-5/up', `after-restart-${i}`, { qos: 1 });
      await new Promise((r) => setTimeout(r, 25));
    }
    expect(got[0]).toMatch(/^after-restart-\d+$/);
    await set.close();
    await broker.stop();
    rmSync(own, { recursive: true, force: true });
  });

  it('a refused login fails start() instead of retrying forever', async () => {
    const { log } = captureLog('silent');
    const subs = new DeviceSubscriptions({ log, reconnectPeriodMs: 100 });
    const wrong = join(dir, 'wrong-password');
    writeFileSync(wrong, 'nope\n');
    const set = subs.forDriver('lora-3', { url: mosquitto.url, username: 'gateway', passwordFile: wrong }, () => {});
    set.subscribe('app/#', () => {}, { broker: 'external' });
    await expect(set.start()).rejects.toThrow(/refused the login/);
    await set.close();
    const missing = subs.forDriver('lora-4', { url: mosquitto.url, passwordFile: join(dir, 'absent') }, () => {});
    missing.subscribe('app/#', () => {}, { broker: 'external' });
    await expect(missing.start()).rejects.toThrow(/cannot read mqtt.passwordFile \(ENOENT\)/);
  });
});
