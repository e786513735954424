import type { Socket } from 'node:net';
import mqttPacket from 'mqtt-packet';
import { connectAsync, type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type DeniedEvent, type RunningBroker, startBroker } from './broker.js';
import type { BrokerConfigInput } from './broker-config.js';
import { captureLog, connectPacket, eventually, packetReader, rawLogin, rawSocket, tcpPort } from './broker-test-kit.js';
import { hashPassword } from '../auth/password.js';

// Real sockets on 127.0.0.1 (clients also bind 127.0.0.2/3 to play other hosts); bounded loops;
// no assertion on elapsed time: only on answers, counts and order.

const PASSWORDS = { 'bin-7': 'bin7-pass', 'bin-8': 'bin8-pass', city: 'city-pass', root: 'root-pass' } as const;
type User = keyof typeof PASSWORDS;
const ACCOUNTS: BrokerConfigInput['accounts'] = [];
beforeAll(() => {
  ACCOUNTS.push(
    { username: 'bin-7', role: 'device', passwordHash: hashPassword(PASSWORDS['bin-7']) },
    { username: 'bin-8', role: 'device', passwordHash: hashPassword(PASSWORDS['bin-8']) },
    { username: 'city', role: 'reader', subscribe: ['cg/#', 'dev/#'], passwordHash: hashPassword(PASSWORDS.city) },
    { username: 'root', role: 'admin', passwordHash: hashPassword(PASSWORDS.root) },
  );
});

const { log, lines } = captureLog();
const clients: MqttClient[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
  for (const s of sockets.splice(0)) s.destroy();
});

async function start(login: BrokerConfigInput['login'] = {}) {
  const denied: DeniedEvent[] = [];
  const throttled: { source: string; username: string }[] = [];
  const broker = await startBroker(
    { listeners: [{ type: 'tcp', host: '127.0.0.1', port: 0 }], accounts: ACCOUNTS, login },
    { demo: false, log, onDenied: (e) => denied.push(e), onLoginThrottled: (w) => throttled.push(w) },
  );
  return { broker, denied, throttled };
}

async function connect(broker: RunningBroker, user: User, clientId: string, extra: IClientOptions = {}) {
  const client = await connectAsync(`mqtt://127.0.0.1:${tcpPort(broker)}`, {
    protocolVersion: 4,
    reconnectPeriod: 0,
    connectTimeout: 5_000,
    username: user,
    password: PASSWORDS[user],
    clientId,
    ...extra,
  });
  clients.push(client);
  return client;
}

/** CONNACK return code (§3.2.2.3) for a raw CONNECT; the socket is kept for cleanup. */
async function tryLogin(
  broker: RunningBroker,
  o: Parameters<typeof connectPacket>[0],
  localAddress?: string,
): Promise<Awaited<ReturnType<typeof rawLogin>>> {
  const r = await rawLogin(tcpPort(broker), o, localAddress);
  sockets.push(r.socket);
  return r;
}

function subscribePacket(topic: string, qos: 0 | 1, messageId = 1): Buffer {
  return mqttPacket.generate({ cmd: 'subscribe', messageId, subscriptions: [{ topic, qos }] });
}

describe('client ids belong to one account', () => {
  let broker: RunningBroker;
  let denied: DeniedEvent[];
  beforeAll(async () => {
    ({ broker, denied } = await start());
  });
  afterAll(() => broker.close());

  it('a device uses its user name, or <username>:<anything>, and nothing else', async () => {
    const login = (clientId: string) =>
      tryLogin(broker, { clientId, username: 'bin-7', password: PASSWORDS['bin-7'] }).then((r) => r.returnCode);
    expect(await login('bin-7')).toBe(0);
    expect(await login('bin-7:sensor-2')).toBe(0);
    expect(await login('bin-8:x')).toBe(2); // §3.2.2.3: identifier rejected
    expect(await login('bin-77')).toBe(2);
    expect(await login('mqttjs_1234')).toBe(2);
    expect(await login('')).toBe(2);
    expect(denied.filter((e) => e.reason === 'client-id-namespace')).toHaveLength(4);
  });

  it("no other account, admin included, may take a device's id or disconnect the device", async () => {
    const device = await connect(broker, 'bin-7', 'bin-7');
    for (const user of ['bin-8', 'root', 'city'] as const) {
      const r = await tryLogin(broker, { clientId: 'bin-7', username: user, password: PASSWORDS[user] });
      expect(r.returnCode).toBe(2);
    }
    expect(device.connected).toBe(true);
    await device.publishAsync('dev/bin-7/still-here', 'x', { qos: 1 });
  });

  it("a device cannot take over an admin's session; another account cannot either", async () => {
    const admin = await connect(broker, 'root', 'ops-console');
    const byDevice = await tryLogin(broker, { clientId: 'ops-console', username: 'bin-8', password: PASSWORDS['bin-8'] });
    const byReader = await tryLogin(broker, { clientId: 'ops-console', username: 'city', password: PASSWORDS.city });
    expect([byDevice.returnCode, byReader.returnCode]).toEqual([2, 2]);
    expect(denied.filter((e) => e.reason === 'client-id-taken' && e.clientId === 'ops-console')).toHaveLength(1);
    expect(admin.connected).toBe(true);
    // the same account may reconnect with its id ([MQTT-3.1.4-2] takes the old connection over)
    const closed = new Promise<void>((resolve) => admin.once('close', () => resolve()));
    const again = await tryLogin(broker, { clientId: 'ops-console', username: 'root', password: PASSWORDS.root });
    expect(again.returnCode).toBe(0);
    await closed;
    again.socket.destroy();
    // a clean session's id is free again once its last connection is gone
    expect(await eventually(() => broker.stats().boundClientIds === 1)).toBe(true); // only bin-7's
    expect((await tryLogin(broker, { clientId: 'ops-console', username: 'city', password: PASSWORDS.city })).returnCode).toBe(0);
  });

  it('a persistent session with a queued QoS 1 message is resumed by its owner only', async () => {
    // bin-7's command session: clean=false, subscribed to its commands at QoS 1, then offline.
    const first = await tryLogin(broker, {
      clientId: 'bin-7:cmd',
      username: 'bin-7',
      password: PASSWORDS['bin-7'],
      clean: false,
    });
    expect(first.returnCode).toBe(0);
    first.socket.write(subscribePacket('dev/bin-7/cmd/#', 1));
    await first.reader.next('suback');
    first.socket.destroy();
    expect(await eventually(() => broker.aedes.connectedClients === 1)).toBe(true); // bin-7 from above
    await broker.publish('dev/bin-7/cmd/open', '{"id":"c1"}', { qos: 1 });

    // a reader's persistent session, with a QoS 1 message queued for it
    const city = await tryLogin(broker, { clientId: 'city-archive', username: 'city', password: PASSWORDS.city, clean: false });
    city.socket.write(subscribePacket('cg/v1/#', 1));
    await city.reader.next('suback');
    city.socket.destroy();
    await eventually(() => broker.aedes.connectedClients === 1);
    await broker.publish('cg/v1/s/g/events/x', 'queued', { qos: 1 });

    for (const [clientId, user] of [
      ['bin-7:cmd', 'bin-8'],
      ['bin-7:cmd', 'root'],
      ['city-archive', 'root'],
      ['city-archive', 'bin-8'],
    ] as const) {
      const thief = await tryLogin(broker, { clientId, username: user, password: PASSWORDS[user], clean: false });
      expect({ clientId, user, code: thief.returnCode, sessionPresent: thief.sessionPresent }).toEqual({
        clientId,
        user,
        code: 2,
        sessionPresent: false,
      });
      expect(thief.reader.packets.filter((p) => p.cmd === 'publish')).toEqual([]);
    }

    const owner = await tryLogin(broker, {
      clientId: 'bin-7:cmd',
      username: 'bin-7',
      password: PASSWORDS['bin-7'],
      clean: false,
    });
    expect([owner.returnCode, owner.sessionPresent]).toEqual([0, true]);
    const cmd = (await owner.reader.next('publish')) as mqttPacket.IPublishPacket;
    expect([cmd.topic, cmd.payload.toString(), cmd.qos]).toEqual(['dev/bin-7/cmd/open', '{"id":"c1"}', 1]);

    const archive = await tryLogin(broker, { clientId: 'city-archive', username: 'city', password: PASSWORDS.city, clean: false });
    expect([archive.returnCode, archive.sessionPresent]).toEqual([0, true]);
    const queued = (await archive.reader.next('publish')) as mqttPacket.IPublishPacket;
    expect(queued.payload.toString()).toBe('queued');
  });
});

describe('commands to a device come from the gateway only', () => {
  let broker: RunningBroker;
  let denied: DeniedEvent[];
  beforeAll(async () => {
    ({ broker, denied } = await start());
  });
  afterAll(() => broker.close());

  it('a device cannot publish to its own cmd topics; the gateway can', async () => {
    const listener = await connect(broker, 'bin-7', 'bin-7:listener');
    await listener.subscribeAsync('dev/bin-7/cmd/#', { qos: 1 });
    const got: string[] = [];
    listener.on('message', (_t, p) => got.push(p.toString()));

    const forger = await connect(broker, 'bin-7', 'bin-7:forger');
    const closed = new Promise<void>((resolve) => forger.once('close', () => resolve()));
    forger.publish('dev/bin-7/cmd/open', 'forged', { qos: 1 });
    await closed; // §3.3.5 [MQTT-3.3.5-2]
    expect(denied).toContainEqual(
      expect.objectContaining({ action: 'publish', reason: 'acl', username: 'bin-7', topic: 'dev/bin-7/cmd/open' }),
    );
    await broker.publish('dev/bin-7/cmd/open', 'from-gateway', { qos: 1 });
    expect(await eventually(() => got.length > 0)).toBe(true);
    expect(got).toEqual(['from-gateway']);
  });
});

describe('password guessing', () => {
  it('locks a guessing source out after maxFailuresPerSource: answered CONNACK 3 without scrypt, logged once', async () => {
    const { broker, denied, throttled } = await start({ maxFailuresPerSource: 5 });
    try {
      const codes: number[] = [];
      for (let i = 0; i < 30; i++) {
        const r = await tryLogin(broker, { clientId: `g-${i}`, username: 'root', password: `guess-${i}` }, '127.0.0.2');
        codes.push(r.returnCode);
        r.socket.destroy();
      }
      expect(codes).toEqual([...Array<number>(5).fill(4), ...Array<number>(25).fill(3)]);
      expect(broker.loginGuard.stats()).toMatchObject({ verifications: 5, throttled: 25, lockouts: 1 });
      expect(throttled).toEqual([{ source: '127.0.0.2', username: 'root' }]);
      expect(denied.filter((e) => e.reason === 'throttled')).toHaveLength(25);
      expect(lines.filter((l) => l.includes('login throttled'))).toHaveLength(1);
      // the right password does not help the locked-out source ...
      const locked = await tryLogin(broker, { clientId: 'root-1', username: 'root', password: PASSWORDS.root }, '127.0.0.2');
      expect(locked.returnCode).toBe(3);
      // ... and another host is not affected
      const other = await tryLogin(broker, { clientId: 'root-1', username: 'root', password: PASSWORDS.root }, '127.0.0.3');
      expect(other.returnCode).toBe(0);
      expect(lines.join('')).not.toContain('guess-');
    } finally {
      await broker.close();
    }
  });

  it("a legitimate login is not queued behind an attacker's password checks", async () => {
    // No lockout here, so every attacker attempt wants a verification.
    const { broker } = await start({ maxFailuresPerSource: 1_000, maxFailuresPerUser: 1_000 });
    try {
      const guard = broker.loginGuard;
      // bin-8 logged in before the attack: its password check is cached.
      (await tryLogin(broker, { clientId: 'bin-8', username: 'bin-8', password: PASSWORDS['bin-8'] }, '127.0.0.3')).socket.destroy();

      const answers: string[] = [];
      const attack = Array.from({ length: 40 }, (_, i) =>
        tryLogin(broker, { clientId: `a-${i}`, username: 'root', password: `guess-${i}` }, '127.0.0.2').then((r) => {
          answers.push(`attacker:${r.returnCode}`);
          return r.returnCode;
        }),
      );
      // Every attempt reached the guard: answered at once (too many waiting) or running/waiting.
      expect(await eventually(() => answers.length + guard.pending('127.0.0.2') === 40)).toBe(true);
      // The attacker's address holds at most one verification and a bounded queue (1 + 8).
      expect(guard.pending('127.0.0.2')).toBeLessThanOrEqual(9);
      expect(guard.pending('127.0.0.2')).toBeGreaterThan(1);

      // A device that has not logged in before: verified in the slot the attacker cannot take.
      const startedAt = answers.length;
      const fresh = await tryLogin(broker, { clientId: 'bin-7', username: 'bin-7', password: PASSWORDS['bin-7'] }, '127.0.0.4');
      answers.push('legit');
      expect(fresh.returnCode).toBe(0);
      expect(guard.pending('127.0.0.2')).toBeGreaterThan(0); // the attack's queue was still being worked off
      const verifiedMeanwhile = answers.slice(startedAt, answers.indexOf('legit')).filter((a) => a === 'attacker:4');
      expect(verifiedMeanwhile.length).toBeLessThanOrEqual(2);

      // A reconnection with the cached password: no scrypt, no queue.
      const hits = guard.stats().cacheHits;
      const cached = await tryLogin(broker, { clientId: 'bin-8', username: 'bin-8', password: PASSWORDS['bin-8'] }, '127.0.0.3');
      expect(cached.returnCode).toBe(0);
      expect(guard.stats().cacheHits).toBe(hits + 1);

      const codes = await Promise.all(attack);
      const refusedAtOnce = codes.filter((c) => c === 3).length;
      expect(refusedAtOnce + codes.filter((c) => c === 4).length).toBe(40);
      expect(refusedAtOnce).toBeGreaterThanOrEqual(20); // most were answered without scrypt
      // scrypt ran for bin-8's first login, bin-7's, and the attacker's verified attempts only
      expect(guard.stats().verifications).toBe(2 + (40 - refusedAtOnce));
    } finally {
      await broker.close();
    }
  });

  it('refuses a zero-byte client id without clean session (§3.1.3.1 [MQTT-3.1.3-8])', async () => {
    const { broker, denied } = await start();
    try {
      const s = await rawSocket(tcpPort(broker));
      sockets.push(s);
      const reader = packetReader(s);
      // mqtt-packet will not generate it: take a clean one and clear the clean-session flag (§3.1.2.4)
      const packet = connectPacket({ clientId: '', username: 'city', password: PASSWORDS.city, clean: true });
      const flags = 2 + 6 + 1; // fixed header (2), protocol name (6), protocol level (1)
      expect(packet[flags]! & 0x02).toBe(0x02);
      packet[flags] = packet[flags]! & ~0x02;
      s.write(packet);
      expect(await reader.next('connack')).toMatchObject({ returnCode: 2 });
      expect(denied).toContainEqual(expect.objectContaining({ reason: 'client-id-empty' }));
      // with clean session the broker assigns one
      const ok = await tryLogin(broker, { clientId: '', username: 'city', password: PASSWORDS.city });
      expect(ok.returnCode).toBe(0);
    } finally {
      await broker.close();
    }
  });
});

describe('persistent sessions per account', () => {
  it('an account holds at most maxPersistentSessionsPerAccount persistent client ids; a clean session frees one', async () => {
    const denied: DeniedEvent[] = [];
    const broker = await startBroker(
      {
        listeners: [{ type: 'tcp', host: '127.0.0.1', port: 0 }],
        accounts: ACCOUNTS,
        limits: { maxPersistentSessionsPerAccount: 2 },
      },
      { demo: false, log, onDenied: (e) => denied.push(e) },
    );
    try {
      const login = async (clientId: string, clean: boolean) => {
        const r = await tryLogin(broker, { clientId, username: 'bin-8', password: PASSWORDS['bin-8'], clean });
        r.socket.destroy();
        return r.returnCode;
      };
      expect(await login('bin-8:a', false)).toBe(0);
      expect(await login('bin-8:b', false)).toBe(0);
      expect(await login('bin-8:c', false)).toBe(2); // a third persistent session: refused
      expect(denied.at(-1)).toMatchObject({ reason: 'max-persistent-sessions', username: 'bin-8' });
      expect(await login('bin-8:a', false)).toBe(0); // resuming one it holds is fine
      expect(await login('bin-8:c', true)).toBe(0); // a clean session is not counted
      expect(await login('bin-8:a', true)).toBe(0); // clean session on a persistent id discards it (§3.1.2.4)
      expect(await login('bin-8:c', false)).toBe(0); // so there is room again
      // another account has its own allowance
      const city = await tryLogin(broker, { clientId: 'city-1', username: 'city', password: PASSWORDS.city, clean: false });
      expect(city.returnCode).toBe(0);
    } finally {
      await broker.close();
    }
  });
});
