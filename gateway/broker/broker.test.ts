import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { createConnection } from 'node:net';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectAsync, ErrorWithSubackPacket, type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../core/logger.js';
import { type BrokerClientInfo, type DeniedEvent, type RunningBroker, startBroker } from './broker.js';
import type { BrokerConfig } from './broker-config.js';
import { hashPassword } from '../auth/password.js';

// Bounded, loopback only: every wait below ends on a message, an event or the vitest timeout.

const PASSWORDS = {
  'bin-7': 'bin7-pass',
  'bin-8': 'bin8-pass',
  city: 'city-pass',
  root: 'root-pass',
} as const;
type User = keyof typeof PASSWORDS;

let config: BrokerConfig;
const logLines: string[] = [];
const log = createLogger(
  'debug',
  new Writable({
    write(chunk, _enc, cb) {
      logLines.push(String(chunk));
      cb();
    },
  }),
);

beforeAll(() => {
  config = {
    listeners: [
      { type: 'tcp', host: '127.0.0.1', port: 0 },
      { type: 'ws', host: '127.0.0.1', port: 0 },
    ],
    accounts: [
      { username: 'bin-7', role: 'device', passwordHash: hashPassword(PASSWORDS['bin-7']) },
      { username: 'bin-8', role: 'device', passwordHash: hashPassword(PASSWORDS['bin-8']) },
      // the city platform: reads the gateway's topics and the devices' telemetry
      {
        username: 'city',
        role: 'reader',
        subscribe: ['cg/#', 'dev/#'],
        passwordHash: hashPassword(PASSWORDS.city),
      },
      { username: 'root', role: 'admin', passwordHash: hashPassword(PASSWORDS.root) },
    ],
  };
});

const clients: MqttClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
});

function urlOf(broker: RunningBroker, type: 'tcp' | 'ws'): string {
  const l = broker.listeners.find((x) => x.type === type)!;
  return type === 'tcp' ? `mqtt://${l.host}:${l.port}` : `ws://${l.host}:${l.port}/mqtt`;
}

const DEVICES: readonly string[] = ['bin-7', 'bin-8'];

async function connect(url: string, user?: User, extra: IClientOptions = {}): Promise<MqttClient> {
  const auth = user ? { username: user, password: PASSWORDS[user] } : {};
  // A device account's client id is its user name or `<username>:<anything>`.
  const id = user && DEVICES.includes(user) ? { clientId: `${user}:${randomUUID().slice(0, 8)}` } : {};
  // aedes speaks MQTT 3.1.1 (protocol level 4) only.
  const client = await connectAsync(url, {
    protocolVersion: 4,
    reconnectPeriod: 0,
    connectTimeout: 5_000,
    ...auth,
    ...id,
    ...extra,
  });
  clients.push(client);
  return client;
}

function whenClosed(client: MqttClient): Promise<void> {
  return new Promise((resolve) => client.once('close', () => resolve()));
}

/** Collects the messages a client receives. */
function collect(client: MqttClient): { topic: string; payload: string; retain: boolean }[] {
  const got: { topic: string; payload: string; retain: boolean }[] = [];
  client.on('message', (topic, payload, packet) =>
    got.push({ topic, payload: payload.toString(), retain: packet.retain }),
  );
  return got;
}

function nextMessage(client: MqttClient, topic: string): Promise<{ payload: string; retain: boolean }> {
  return new Promise((resolve) => {
    const onMessage = (t: string, payload: Buffer, packet: { retain: boolean }) => {
      if (t !== topic) return;
      client.off('message', onMessage);
      resolve({ payload: payload.toString(), retain: packet.retain });
    };
    client.on('message', onMessage);
  });
}

/** SUBACK return codes (§3.9.3): granted QoS, or 0x80 (128) for a failure. MQTT.js rejects on any failure. */
async function subackCodes(client: MqttClient, filters: string[]): Promise<number[]> {
  try {
    return (await client.subscribeAsync(filters)).map((g) => g.qos);
  } catch (err) {
    if (err instanceof ErrorWithSubackPacket && 'granted' in err.packet)
      return err.packet.granted as number[];
    throw err;
  }
}

describe('local broker (demo off)', () => {
  let broker: RunningBroker;
  const denied: DeniedEvent[] = [];
  let deniedWaiters: ((e: DeniedEvent) => void)[] = [];
  let hook:
    | ((client: BrokerClientInfo, topic: string, payload: Buffer, qos: number) => Promise<void>)
    | undefined;
  let hold: Promise<void> | undefined;

  const nextDenied = () => new Promise<DeniedEvent>((resolve) => deniedWaiters.push(resolve));

  beforeAll(async () => {
    broker = await startBroker(config, {
      demo: false,
      log,
      onDevicePublish: (client, topic, payload, qos) =>
        hook?.(client, topic, payload, qos) ?? Promise.resolve(),
      holdDevice: () => hold,
      onDenied: (e) => {
        denied.push(e);
        const waiters = deniedWaiters;
        deniedWaiters = [];
        for (const w of waiters) w(e);
      },
    });
  });
  afterAll(() => broker.close());
  afterEach(() => {
    hook = undefined;
    hold = undefined;
  });

  it('while the gateway holds devices, a device publish waits and nothing more is read from its socket', async () => {
    let release!: () => void;
    hold = new Promise<void>((resolve) => {
      release = resolve;
    });
    const seen: string[] = [];
    hook = async (_c, topic, payload) => {
      if (topic === 'dev/bin-7/reading') seen.push(payload.toString());
    };
    const device = await connect(urlOf(broker, 'tcp'), 'bin-7');
    const city = await connect(urlOf(broker, 'tcp'), 'city');
    await city.subscribeAsync('dev/bin-7/#', { qos: 1 });
    const got = collect(city);
    let acked = 0;
    const sends = ['r1', 'r2', 'r3'].map((p) =>
      device.publishAsync('dev/bin-7/reading', p, { qos: 1 }).then(() => acked++),
    );
    // An admin is never held: its publish goes through while the device waits.
    const root = await connect(urlOf(broker, 'tcp'), 'root');
    const sentinel = nextMessage(city, 'dev/bin-7/sentinel');
    await root.publishAsync('dev/bin-7/sentinel', 'x', { qos: 1 });
    await sentinel;
    expect({ seen, acked, delivered: got.filter((m) => m.topic === 'dev/bin-7/reading') }).toEqual({
      seen: [],
      acked: 0,
      delivered: [],
    });
    release();
    await Promise.all(sends);
    expect(seen).toEqual(['r1', 'r2', 'r3']);
    expect(acked).toBe(3);
  });

  it('binds the configured listeners on the ports the OS picked', () => {
    expect(broker.listeners.map((l) => l.type)).toEqual(['tcp', 'ws']);
    for (const l of broker.listeners) expect(l.port).toBeGreaterThan(0);
  });

  it('a device publishes under its own subtree and a reader receives it', async () => {
    const city = await connect(urlOf(broker, 'tcp'), 'city');
    await city.subscribeAsync('dev/#', { qos: 1 });
    const device = await connect(urlOf(broker, 'tcp'), 'bin-7');
    const seen: { client: BrokerClientInfo; topic: string; payload: string; qos: number }[] = [];
    hook = async (client, topic, payload, qos) => {
      seen.push({ client, topic, payload: payload.toString(), qos });
    };
    const received = nextMessage(city, 'dev/bin-7/telemetry');
    await device.publishAsync('dev/bin-7/telemetry', '{"fill":42}', { qos: 1 });
    expect((await received).payload).toBe('{"fill":42}');
    expect(seen).toEqual([
      {
        client: { id: device.options.clientId, username: 'bin-7' },
        topic: 'dev/bin-7/telemetry',
        payload: '{"fill":42}',
        qos: 1,
      },
    ]);
  });

  it("a device cannot publish under another device's subtree", async () => {
    const city = await connect(urlOf(broker, 'tcp'), 'city');
    await city.subscribeAsync('dev/#');
    const got = collect(city);
    const device = await connect(urlOf(broker, 'tcp'), 'bin-7');
    const deniedEvent = nextDenied();
    const closed = whenClosed(device);
    device.publish('dev/bin-8/telemetry', 'forged');
    expect(await deniedEvent).toMatchObject({
      action: 'publish',
      username: 'bin-7',
      topic: 'dev/bin-8/telemetry',
    });
    await closed; // §3.3.5: the server closes the connection [MQTT-3.3.5-2]
    // A later message on the same topic arrives; the forged one never did.
    const sentinel = nextMessage(city, 'dev/bin-8/telemetry');
    await broker.publish('dev/bin-8/telemetry', 'sentinel');
    await sentinel;
    expect(got.map((m) => m.payload)).toEqual(['sentinel']);
    expect(logLines.some((l) => l.includes('"level":40') && l.includes('dev/bin-8/telemetry'))).toBe(true);
  });

  it('a reader cannot publish', async () => {
    const root = await connect(urlOf(broker, 'tcp'), 'root');
    await root.subscribeAsync('cg/#');
    const got = collect(root);
    const city = await connect(urlOf(broker, 'tcp'), 'city');
    const deniedEvent = nextDenied();
    city.publish('cg/v1/site/gw/status', 'offline');
    expect(await deniedEvent).toMatchObject({
      action: 'publish',
      username: 'city',
      topic: 'cg/v1/site/gw/status',
    });
    const sentinel = nextMessage(root, 'cg/v1/site/gw/status');
    await broker.publish('cg/v1/site/gw/status', 'online');
    await sentinel;
    expect(got.map((m) => m.payload)).toEqual(['online']);
  });

  it('a reader cannot subscribe outside its filters (SUBACK 0x80, §3.9.3)', async () => {
    const city = await connect(urlOf(broker, 'tcp'), 'city');
    expect(await subackCodes(city, ['cg/v1/+/+/events/#', '#', '$SYS/#'])).toEqual([0, 128, 128]);
    expect(denied).toContainEqual(
      expect.objectContaining({ action: 'subscribe', username: 'city', topic: '#' }),
    );
  });

  it('a device may subscribe to its own commands only', async () => {
    const device = await connect(urlOf(broker, 'tcp'), 'bin-7');
    expect(await subackCodes(device, ['dev/bin-7/cmd/#', 'dev/#', 'dev/bin-8/cmd/#'])).toEqual([0, 128, 128]);
  });

  it('refuses a wrong password with CONNACK 4 and does not log the password', async () => {
    await expect(
      connect(urlOf(broker, 'tcp'), undefined, { username: 'bin-7', password: 'not-the-password-xyz' }),
    ).rejects.toMatchObject({ code: 4 });
    await expect(
      connect(urlOf(broker, 'tcp'), undefined, { username: 'nobody', password: 'x' }),
    ).rejects.toMatchObject({
      code: 4,
    });
    expect(denied).toContainEqual(expect.objectContaining({ action: 'connect', username: 'bin-7' }));
    expect(
      logLines.some((l) => l.includes('"level":40') && l.includes('connect denied') && l.includes('bin-7')),
    ).toBe(true);
    expect(logLines.join('')).not.toContain('not-the-password-xyz');
  });

  it('refuses anonymous clients outside demo mode (CONNACK 5)', async () => {
    await expect(connect(urlOf(broker, 'tcp'))).rejects.toMatchObject({ code: 5 });
  });

  it('delivers a retained server-side publish to a late subscriber', async () => {
    await broker.publish('cg/v1/site/gw/availability/bin-7', 'online', { retain: true, qos: 1 });
    const city = await connect(urlOf(broker, 'tcp'), 'city');
    const retained = nextMessage(city, 'cg/v1/site/gw/availability/bin-7');
    await city.subscribeAsync('cg/v1/+/+/availability/#');
    expect(await retained).toEqual({ payload: 'online', retain: true });
  });

  it('delivers every one of back-to-back publishes of mixed QoS and retain flags', async () => {
    // aedes' duplicate check drops a QoS 1 message overtaken by a QoS 0 one (see deliveryClassStamper).
    const city = await connect(urlOf(broker, 'tcp'), 'city');
    await city.subscribeAsync('cg/mixed/#', { qos: 1 });
    const device = await connect(urlOf(broker, 'tcp'), 'bin-8');
    await city.subscribeAsync('dev/bin-8/mixed/#', { qos: 1 });
    const got = collect(city);
    const flags = [
      { qos: 1, retain: false },
      { qos: 0, retain: false },
      { qos: 1, retain: true },
      { qos: 0, retain: true },
    ] as const;
    const sent: string[] = [];
    for (let i = 0; i < 40; i++) {
      const f = flags[i % 4]!;
      sent.push(`cg/mixed/${i}`, `dev/bin-8/mixed/${i}`);
      void broker.publish(`cg/mixed/${i}`, String(i), f);
      device.publish(`dev/bin-8/mixed/${i}`, String(i), f);
    }
    const ends = Promise.all([nextMessage(city, 'cg/mixed/end'), nextMessage(city, 'dev/bin-8/mixed/end')]);
    await broker.publish('cg/mixed/end', 'end', { qos: 0 });
    await device.publishAsync('dev/bin-8/mixed/end', 'end', { qos: 1 });
    await ends;
    // every class may arrive in its own order relative to the others, but none is lost
    for (let i = 0; i < 20 && got.length < sent.length + 2; i++) await sleep(50);
    expect(
      got
        .map((m) => m.topic)
        .filter((t) => !t.endsWith('/end'))
        .sort(),
    ).toEqual(sent.sort());
    // clear the retained ones so later tests start clean
    for (const t of sent) await broker.publish(t, '', { retain: true });
  });

  it("writes packets without building mqtt-packet's cache of 65,536 number buffers", async () => {
    // The cache is mqtt-packet's, shared by aedes and MQTT.js in this process (one copy in node_modules).
    const numbers = createRequire(import.meta.url)('mqtt-packet/numbers.js') as { cache: Record<number, Buffer> };
    const city = await connect(urlOf(broker, 'tcp'), 'city');
    await city.subscribeAsync('cg/numbers/#', { qos: 1 });
    const got = nextMessage(city, 'cg/numbers/1');
    // QoS 1 both ways: packet ids and length prefixes written by the broker and by the client.
    await broker.publish('cg/numbers/1', 'x'.repeat(300), { qos: 1, retain: false });
    expect((await got).payload).toHaveLength(300);
    expect(Object.keys(numbers.cache)).toHaveLength(0);
  });

  it('serves MQTT over WebSocket at /mqtt', async () => {
    const city = await connect(urlOf(broker, 'tcp'), 'city');
    await city.subscribeAsync('dev/bin-8/#');
    const device = await connect(urlOf(broker, 'ws'), 'bin-8');
    const received = nextMessage(city, 'dev/bin-8/drop');
    await device.publishAsync('dev/bin-8/drop', 'over-ws', { qos: 1 });
    expect((await received).payload).toBe('over-ws');
  });

  it('awaits onDevicePublish before the QoS 1 PUBACK', async () => {
    const order: string[] = [];
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let called!: () => void;
    const hookCalled = new Promise<void>((resolve) => {
      called = resolve;
    });
    hook = async () => {
      order.push('hook called');
      called();
      await released;
      order.push('hook resolved');
    };
    const device = await connect(urlOf(broker, 'tcp'), 'bin-7');
    const acked = device
      .publishAsync('dev/bin-7/alarm', 'smoke', { qos: 1 })
      .then(() => order.push('puback'));
    await hookCalled;
    // Give an early PUBACK every chance to arrive first (not a timing assertion: the order is).
    await sleep(100);
    release();
    await acked;
    expect(order).toEqual(['hook called', 'hook resolved', 'puback']);
  });

  it('refuses the publish (no PUBACK) when onDevicePublish fails', async () => {
    const city = await connect(urlOf(broker, 'tcp'), 'city');
    await city.subscribeAsync('dev/bin-7/#');
    const got = collect(city);
    hook = async () => {
      throw new Error('journal full');
    };
    const device = await connect(urlOf(broker, 'tcp'), 'bin-7');
    let acked = false;
    device.publish('dev/bin-7/alarm', 'lost?', { qos: 1 }, (err) => {
      if (!err) acked = true;
    });
    await whenClosed(device);
    hook = undefined;
    const sentinel = nextMessage(city, 'dev/bin-7/alarm');
    await broker.publish('dev/bin-7/alarm', 'sentinel');
    await sentinel;
    expect(acked).toBe(false);
    expect(got.map((m) => m.payload)).toEqual(['sentinel']);
    expect(logLines.some((l) => l.includes('"level":50') && l.includes('device publish not accepted'))).toBe(
      true,
    );
  });
});

describe('local broker (demo on)', () => {
  let broker: RunningBroker;
  const denied: DeniedEvent[] = [];

  beforeAll(async () => {
    const demo = { ...config, listeners: [{ type: 'tcp' as const, host: '127.0.0.1', port: 0 }] };
    broker = await startBroker(demo, { demo: true, log, onDenied: (e) => denied.push(e) });
  });
  afterAll(() => broker.close());

  it('lets anonymous clients read cg/# but not publish', async () => {
    const anon = await connect(urlOf(broker, 'tcp'));
    expect(await subackCodes(anon, ['cg/#', '#', 'dev/#'])).toEqual([0, 128, 128]);

    const received = nextMessage(anon, 'cg/v1/site/gw/status');
    await broker.publish('cg/v1/site/gw/status', 'online');
    expect((await received).payload).toBe('online');

    const closed = whenClosed(anon);
    anon.publish('cg/v1/site/gw/status', 'offline');
    await closed;
    expect(denied).toContainEqual(
      expect.objectContaining({ action: 'publish', topic: 'cg/v1/site/gw/status' }),
    );
  });

  it('still checks passwords of named clients', async () => {
    await expect(
      connect(urlOf(broker, 'tcp'), undefined, { username: 'root', password: 'wrong' }),
    ).rejects.toMatchObject({
      code: 4,
    });
  });
});

describe('startBroker config errors', () => {
  it('rejects a malformed password hash with a coded error', async () => {
    const bad: BrokerConfig = {
      listeners: [{ type: 'tcp', host: '127.0.0.1', port: 0 }],
      accounts: [{ username: 'x', role: 'device', passwordHash: 'scrypt$oops' }],
    };
    await expect(startBroker(bad, { demo: false, log })).rejects.toMatchObject({ code: 'BROKER_ACCOUNTS' });
  });

  it('reports a port in use with a coded error', async () => {
    const first = await startBroker(
      { listeners: [{ type: 'tcp', host: '127.0.0.1', port: 0 }], accounts: [] },
      { demo: true, log },
    );
    try {
      const port = first.listeners[0]!.port;
      await expect(
        startBroker(
          { listeners: [{ type: 'tcp', host: '127.0.0.1', port }], accounts: [] },
          { demo: true, log },
        ),
      ).rejects.toMatchObject({ code: 'BROKER_LISTEN' });
    } finally {
      await first.close();
    }
  });
});

describe('close()', () => {
  it('closes listeners and every connection, including ones that never sent CONNECT', async () => {
    const broker = await startBroker(
      {
        listeners: [
          { type: 'tcp', host: '127.0.0.1', port: 0 },
          { type: 'ws', host: '127.0.0.1', port: 0 },
        ],
        accounts: [],
      },
      { demo: true, log },
    );
    const tcp = await connect(urlOf(broker, 'tcp'));
    const ws = await connect(urlOf(broker, 'ws'));
    const raw = createConnection(broker.listeners[0]!.port, '127.0.0.1');
    await new Promise<void>((resolve) => raw.once('connect', () => resolve()));
    const rawClosed = new Promise<void>((resolve) => raw.once('close', () => resolve()));
    const ended = [whenClosed(tcp), whenClosed(ws), rawClosed];
    await broker.close();
    await Promise.all(ended);
    expect(broker.aedes.closed).toBe(true);
    await expect(broker.publish('cg/x', 'late')).rejects.toMatchObject({ code: 'BROKER_CLOSED' });
    await expect(connect(urlOf(broker, 'tcp'))).rejects.toThrow();
  });
});
