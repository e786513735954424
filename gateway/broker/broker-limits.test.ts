import { randomUUID } from 'node:crypto';
import { connect as mqttConnect, connectAsync, ErrorWithSubackPacket, type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { type DeniedEvent, type RunningBroker, startBroker } from './broker.js';
import {
  captureLog,
  connectPacket,
  eventually,
  fixedHeader,
  MAX_REMAINING_LENGTH,
  packetReader,
  rawLogin,
  rawSocket,
  rssMB,
  streamFiller,
  tcpPort,
  whenSocketClosed,
  wsPort,
} from './broker-test-kit.js';
import type { BrokerConfigInput } from './broker-config.js';
import { hashPassword } from '../auth/password.js';

// Real sockets on 127.0.0.1 only; every loop below is bounded; no assertion on elapsed time.

const PASSWORDS = { 'bin-7': 'bin7-pass', city: 'city-pass', root: 'root-pass' } as const;
type User = keyof typeof PASSWORDS;
const ACCOUNTS: BrokerConfigInput['accounts'] = [];

const { log, lines } = captureLog();
const clients: MqttClient[] = [];

beforeAll(() => {
  ACCOUNTS.push(
    { username: 'bin-7', role: 'device', passwordHash: hashPassword(PASSWORDS['bin-7']) },
    { username: 'city', role: 'reader', subscribe: ['cg/#', 'dev/#'], passwordHash: hashPassword(PASSWORDS.city) },
    { username: 'root', role: 'admin', passwordHash: hashPassword(PASSWORDS.root) },
  );
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
});

async function start(limits: BrokerConfigInput['limits'] = {}, drainTimeoutMs?: number) {
  const denied: DeniedEvent[] = [];
  const broker = await startBroker(
    {
      listeners: [
        { type: 'tcp', host: '127.0.0.1', port: 0 },
        { type: 'ws', host: '127.0.0.1', port: 0 },
      ],
      accounts: ACCOUNTS,
      limits,
    },
    { demo: false, log, onDenied: (e) => denied.push(e), ...(drainTimeoutMs ? { drainTimeoutMs } : {}) },
  );
  return { broker, denied };
}

async function connect(broker: RunningBroker, user: User, extra: IClientOptions = {}): Promise<MqttClient> {
  const client = await connectAsync(`mqtt://127.0.0.1:${tcpPort(broker)}`, {
    protocolVersion: 4,
    reconnectPeriod: 0,
    connectTimeout: 5_000,
    username: user,
    password: PASSWORDS[user],
    clientId: user === 'bin-7' ? `bin-7:${randomUUID().slice(0, 8)}` : `${user}-${randomUUID().slice(0, 8)}`,
    ...extra,
  });
  clients.push(client);
  return client;
}

function whenClosed(client: MqttClient): Promise<void> {
  return new Promise((resolve) => client.once('close', () => resolve()));
}

async function subackCodes(client: MqttClient, filters: string[]): Promise<number[]> {
  try {
    return (await client.subscribeAsync(filters)).map((g) => g.qos);
  } catch (err) {
    if (err instanceof ErrorWithSubackPacket && 'granted' in err.packet) return err.packet.granted as number[];
    throw err;
  }
}

const count = (denied: DeniedEvent[], reason: DeniedEvent['reason']) =>
  denied.filter((e) => e.reason === reason).length;

describe('packet size limit at the socket', () => {
  let broker: RunningBroker;
  let denied: DeniedEvent[];
  beforeAll(async () => {
    ({ broker, denied } = await start({ maxPacketBytes: 64 * 1024, maxConnectPacketBytes: 4 * 1024 }));
  });
  afterAll(() => broker.close());

  it('closes a connection announcing a 256 MB packet before CONNECT, without buffering it', async () => {
    const baseline = rssMB();
    // As in the probe: six sockets at once, each announcing the largest packet MQTT can express.
    const sockets = await Promise.all(Array.from({ length: 6 }, () => rawSocket(tcpPort(broker))));
    const sent = await Promise.all(
      sockets.map(async (s) => {
        s.write(fixedHeader(1, MAX_REMAINING_LENGTH));
        return streamFiller(s, 4 * 1024 * 1024);
      }),
    );
    await Promise.all(sockets.map(whenSocketClosed));
    const growth = rssMB() - baseline;
    expect(growth).toBeLessThan(50);
    // the broker stopped reading long before the 24 MB were through
    expect(sent.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(6 * 4 * 1024 * 1024);
    expect(denied.filter((e) => e.action === 'packet' && e.reason === 'packet-too-large')).toHaveLength(6);
    expect(denied.find((e) => e.reason === 'packet-too-large')).toMatchObject({
      source: '127.0.0.1',
      bytes: MAX_REMAINING_LENGTH + 5,
    });
    // logged, but not once per socket (same reason, same source)
    expect(lines.filter((l) => l.includes('packet denied: packet-too-large')).length).toBe(1);
  });

  it('applies the smaller limit until the CONNECT is accepted', async () => {
    const before = count(denied, 'packet-too-large');
    const s = await rawSocket(tcpPort(broker));
    s.write(fixedHeader(1, 8 * 1024)); // an 8 KB CONNECT: over maxConnectPacketBytes (4 KB)
    await whenSocketClosed(s);
    expect(count(denied, 'packet-too-large')).toBe(before + 1);
  });

  it('closes a connection whose first packet is not a CONNECT (§3.1)', async () => {
    const s = await rawSocket(tcpPort(broker));
    s.write(fixedHeader(3, 10)); // PUBLISH
    await whenSocketClosed(s);
    expect(count(denied, 'first-packet-not-connect')).toBe(1);
  });

  it('closes a connection with a malformed remaining length (§2.2.3, more than 4 bytes)', async () => {
    const s = await rawSocket(tcpPort(broker));
    s.write(Buffer.from([0x10, 0xff, 0xff, 0xff, 0xff, 0x01]));
    await whenSocketClosed(s);
    expect(count(denied, 'malformed-length')).toBe(1);
  });

  it('closes a logged-in connection announcing a 256 MB PUBLISH, RSS flat, others unaffected', async () => {
    const city = await connect(broker, 'city');
    await city.subscribeAsync('dev/#');
    const got: string[] = [];
    city.on('message', (t) => got.push(t));

    const { socket, returnCode } = await rawLogin(tcpPort(broker), {
      clientId: 'bin-7:raw',
      username: 'bin-7',
      password: PASSWORDS['bin-7'],
    });
    expect(returnCode).toBe(0);
    const baseline = rssMB();
    socket.write(fixedHeader(3, MAX_REMAINING_LENGTH));
    await streamFiller(socket, 8 * 1024 * 1024);
    await whenSocketClosed(socket);
    expect(rssMB() - baseline).toBeLessThan(50);
    expect(denied).toContainEqual(
      expect.objectContaining({ action: 'packet', reason: 'packet-too-large', username: 'bin-7', clientId: 'bin-7:raw' }),
    );

    // a publish just under the limit goes through; one just over closes the publisher
    const device = await connect(broker, 'bin-7');
    await device.publishAsync('dev/bin-7/ok', Buffer.alloc(60 * 1024), { qos: 1 });
    const closed = whenClosed(device);
    device.publish('dev/bin-7/too-big', Buffer.alloc(70 * 1024), { qos: 0 });
    await closed;
    const sentinel = await connect(broker, 'bin-7');
    await sentinel.publishAsync('dev/bin-7/after', 'x', { qos: 1 });
    expect(await eventually(() => got.includes('dev/bin-7/after'))).toBe(true);
    expect(got).toEqual(['dev/bin-7/ok', 'dev/bin-7/after']);
  });

  it('does the same on the WebSocket listener', async () => {
    const before = count(denied, 'packet-too-large');
    const ws = new WebSocket(`ws://127.0.0.1:${wsPort(broker)}/mqtt`, 'mqtt');
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    ws.on('error', () => {});
    const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
    // header in one message, then filler in messages each under the WebSocket limit
    ws.send(fixedHeader(1, MAX_REMAINING_LENGTH));
    for (let i = 0; i < 32 && ws.readyState === WebSocket.OPEN; i++) ws.send(Buffer.alloc(32 * 1024));
    await closed;
    expect(count(denied, 'packet-too-large')).toBe(before + 1);

    // one WebSocket message above maxPayload is refused by ws itself (close 1009)
    const ws2 = new WebSocket(`ws://127.0.0.1:${wsPort(broker)}/mqtt`, 'mqtt');
    await new Promise<void>((resolve) => ws2.once('open', () => resolve()));
    ws2.on('error', () => {});
    const code = new Promise<number>((resolve) => ws2.once('close', (c) => resolve(c)));
    ws2.send(Buffer.concat([connectPacket({ clientId: 'x' }), Buffer.alloc(128 * 1024)]));
    expect(await code).toBe(1009);
  });
});

describe('connection limits', () => {
  let broker: RunningBroker;
  let denied: DeniedEvent[];
  beforeAll(async () => {
    ({ broker, denied } = await start({ maxConnections: 5, maxConnectionsPerSource: 3 }));
  });
  afterAll(() => broker.close());

  it('refuses connections beyond the per-source and the total limit, and counts them', async () => {
    const port = tcpPort(broker);
    const a = await Promise.all([1, 2, 3].map(() => rawSocket(port, '127.0.0.1')));
    expect(await eventually(() => broker.stats().connections === 3)).toBe(true);
    const overSource = await rawSocket(port, '127.0.0.1');
    await whenSocketClosed(overSource);
    expect(count(denied, 'max-connections-per-source')).toBe(1);

    const b = await Promise.all([1, 2].map(() => rawSocket(port, '127.0.0.2')));
    expect(await eventually(() => broker.stats().connections === 5)).toBe(true);
    const overTotal = await rawSocket(port, '127.0.0.3');
    await whenSocketClosed(overTotal);
    expect(denied.filter((e) => e.action === 'connection' && e.reason === 'max-connections')).toEqual([
      expect.objectContaining({ source: '127.0.0.3' }),
    ]);

    // the admitted ones still work: one logs in
    const reader = packetReader(a[0]!);
    a[0]!.write(connectPacket({ clientId: 'city-1', username: 'city', password: PASSWORDS.city }));
    expect(await reader.next('connack')).toMatchObject({ returnCode: 0 });

    // closing frees the slots
    for (const s of [...a, ...b]) s.destroy();
    expect(await eventually(() => broker.stats().connections === 0)).toBe(true);
    const again = await connect(broker, 'city');
    expect(again.connected).toBe(true);
  });
});

describe('subscriptions per client', () => {
  let broker: RunningBroker;
  let denied: DeniedEvent[];
  beforeAll(async () => {
    ({ broker, denied } = await start({ maxSubscriptionsPerClient: 3 }));
  });
  afterAll(() => broker.close());

  it('refuses filters beyond the limit (SUBACK 0x80), re-subscribing and unsubscribing are counted right', async () => {
    const city = await connect(broker, 'city');
    expect(await subackCodes(city, ['cg/a', 'cg/b', 'cg/c'])).toEqual([0, 0, 0]);
    expect(await subackCodes(city, ['cg/d'])).toEqual([128]);
    expect(await subackCodes(city, ['cg/a'])).toEqual([0]); // already held: not a new one
    await city.unsubscribeAsync('cg/b');
    expect(await subackCodes(city, ['cg/d', 'cg/e'])).toEqual([0, 128]);
    expect(denied.filter((e) => e.reason === 'max-subscriptions').map((e) => e.topic)).toEqual(['cg/d', 'cg/e']);
    // the limit is per client
    const other = await connect(broker, 'city');
    expect(await subackCodes(other, ['cg/a', 'cg/b', 'cg/c'])).toEqual([0, 0, 0]);
  });
});

describe('messages queued for a persistent session', () => {
  let broker: RunningBroker;
  let denied: DeniedEvent[];
  beforeAll(async () => {
    ({ broker, denied } = await start({ maxQueuedPerSession: 10 }));
  });
  afterAll(() => broker.close());

  it('keeps at most maxQueuedPerSession for an offline subscriber, counts the rest, and queues again once it caught up', async () => {
    const id = `city-archive-${randomUUID().slice(0, 8)}`;
    const first = await connect(broker, 'city', { clientId: id, clean: false });
    await first.subscribeAsync('cg/v1/#', { qos: 1 });
    await first.endAsync();
    for (let i = 0; i < 50; i++) await broker.publish('cg/v1/s/g/events/x', `m${i}`, { qos: 1 });
    expect(count(denied, 'session-queue-full')).toBe(40);

    const got: string[] = [];
    // listening before the CONNACK: the queued messages may arrive in the same segment
    const back = mqttConnect(`mqtt://127.0.0.1:${tcpPort(broker)}`, {
      protocolVersion: 4,
      reconnectPeriod: 0,
      username: 'city',
      password: PASSWORDS.city,
      clientId: id,
      clean: false,
    });
    clients.push(back);
    back.on('message', (_t, p) => got.push(p.toString()));
    await new Promise((resolve, reject) => back.once('connect', resolve).once('error', reject));
    expect(await eventually(() => got.length === 10)).toBe(true);
    expect(got).toEqual(Array.from({ length: 10 }, (_, i) => `m${i}`)); // the oldest kept, in order
    // acknowledged: the queue is empty again and holds new messages while it is offline
    await back.endAsync();
    for (let i = 0; i < 5; i++) await broker.publish('cg/v1/s/g/events/x', `n${i}`, { qos: 1 });
    expect(count(denied, 'session-queue-full')).toBe(40);
  });
});

describe('retained messages', () => {
  let broker: RunningBroker;
  let denied: DeniedEvent[];
  beforeAll(async () => {
    ({ broker, denied } = await start({ maxRetainedMessages: 2, maxRetainedBytes: 1_000 }));
  });
  afterAll(() => broker.close());

  it('refuses a retained publish beyond the count or the bytes, and never acknowledges it', async () => {
    const device = await connect(broker, 'bin-7');
    await device.publishAsync('dev/bin-7/r1', 'one', { qos: 1, retain: true });
    await device.publishAsync('dev/bin-7/r2', 'two', { qos: 1, retain: true });
    // replacing one is fine
    await device.publishAsync('dev/bin-7/r2', 'two again', { qos: 1, retain: true });
    expect(broker.stats().retainedMessages).toBe(2);

    let acked = false;
    const closed = whenClosed(device);
    device.publish('dev/bin-7/r3', 'three', { qos: 1, retain: true }, (err) => {
      if (!err) acked = true;
    });
    await closed;
    expect(acked).toBe(false);
    expect(denied).toContainEqual(
      expect.objectContaining({ action: 'publish', reason: 'max-retained-messages', topic: 'dev/bin-7/r3' }),
    );

    // clearing frees a slot; a payload over the byte budget is refused
    const d2 = await connect(broker, 'bin-7');
    await d2.publishAsync('dev/bin-7/r1', '', { qos: 1, retain: true });
    expect(broker.stats().retainedMessages).toBe(1);
    const closed2 = whenClosed(d2);
    d2.publish('dev/bin-7/r4', Buffer.alloc(2_000), { qos: 1, retain: true });
    await closed2;
    expect(count(denied, 'max-retained-bytes')).toBe(1);

    // the gateway's own retained messages are neither refused nor counted
    await broker.publish('cg/v1/s/g/availability/x', 'online', { retain: true, qos: 1 });
    await broker.publish('cg/v1/s/g/availability/y', 'online', { retain: true, qos: 1 });
    expect(broker.stats().retainedMessages).toBe(1);

    // a late subscriber sees exactly what was accepted
    const city = await connect(broker, 'city');
    const got: string[] = [];
    city.on('message', (t, p) => got.push(`${t}=${p.toString()}`));
    await city.subscribeAsync('dev/bin-7/#');
    expect(await eventually(() => got.length >= 1)).toBe(true);
    const marker = await connect(broker, 'bin-7');
    await marker.publishAsync('dev/bin-7/marker', 'm', { qos: 1 });
    expect(await eventually(() => got.includes('dev/bin-7/marker=m'))).toBe(true);
    expect(got.sort()).toEqual(['dev/bin-7/marker=m', 'dev/bin-7/r2=two again']);
  });
});

describe('slow consumer', () => {
  let broker: RunningBroker;
  let denied: DeniedEvent[];
  beforeAll(async () => {
    // A short drain timeout keeps the test short; the behaviour is the same with the default.
    ({ broker, denied } = await start({}, 500));
  });
  afterAll(() => broker.close());

  it('a subscriber that stops reading is disconnected; another keeps receiving every message', async () => {
    const { socket: slow, returnCode, reader } = await rawLogin(tcpPort(broker), {
      clientId: 'slow-reader',
      username: 'city',
      password: PASSWORDS.city,
    });
    expect(returnCode).toBe(0);
    slow.write(
      (await import('mqtt-packet')).default.generate({
        cmd: 'subscribe',
        messageId: 1,
        subscriptions: [{ topic: 'cg/load/#', qos: 0 }],
      }),
    );
    await reader.next('suback');
    slow.pause(); // stops reading: the kernel buffers fill, then the broker's writes wait for drain

    const healthy = await connect(broker, 'city');
    await healthy.subscribeAsync('cg/load/#', { qos: 0 });
    let received = 0;
    healthy.on('message', () => received++);
    let slowDisconnected = false;
    broker.aedes.on('clientDisconnect', (c) => {
      if (c.id === 'slow-reader') slowDisconnected = true;
    });

    // ~40 MB through the broker, far more than the loopback socket buffers hold
    const payload = Buffer.alloc(64 * 1024, 0x62);
    const N = 640;
    for (let i = 0; i < N; i++) await broker.publish(`cg/load/${i % 8}`, payload);
    expect(await eventually(() => received === N, 1_000)).toBe(true);
    expect(await eventually(() => slowDisconnected, 1_000)).toBe(true);
    expect(denied).toContainEqual(
      expect.objectContaining({ action: 'connection', reason: 'slow-consumer', clientId: 'slow-reader' }),
    );
    // and deliveries go on
    const after = new Promise<void>((resolve) => healthy.once('message', () => resolve()));
    await broker.publish('cg/load/after', 'x');
    await after;
    slow.destroy();
  });
});
