/**
 * The devices' retained state (broker/device-state.ts) as the gateway wires it: a real Journal, the
 * pipeline and the local-bus bridge on the real broker, MQTT clients on 127.0.0.1. The state is
 * each device's latest non-historical reading, read from the journal when a client subscribes, and
 * published live only while a subscription could match a state topic.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync, type IClientOptions, type MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { hashPassword } from '../auth/password.js';
import { startBroker } from '../broker/broker.js';
import { DeviceState } from '../broker/device-state.js';
import type { DeviceRef, EventEnvelope } from '../core/envelope.js';
import { createLogger } from '../core/logger.js';
import { createMetrics } from '../core/metrics.js';
import { Journal } from '../journal/journal.js';
import { waitFor } from '../testing/wait-for.js';
import { bridgePipelineToBus, LocalBus } from './local-bus.js';
import { Pipeline } from './pipeline.js';

const ROOT = 'cg/v1/s/g';
const STATE_1 = `${ROOT}/state/gas-detector/gas-1`;
const STATE_2 = `${ROOT}/state/gas-detector/gas-2`;
const PASSWORD = 'root-pass';
const devices = new Map<string, DeviceRef>(
  ['gas-1', 'gas-2'].map((id) => [id, { id, family: 'gas-detector', building: 'B1', tags: [] }]),
);
const log = createLogger('silent');
const passwordHash = hashPassword(PASSWORD);

interface Received {
  topic: string;
  lel: number;
  retain: boolean;
}

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup() {
  const journal = new Journal({
    path: join(mkdtempSync(join(tmpdir(), 'state-')), 'j.db'),
    synchronous: 'NORMAL',
    retention: { maxAgeDays: 1, maxSizeMB: 10 },
  });
  cleanups.push(() => journal.close());
  const state = new DeviceState({ root: ROOT, read: (seqs) => journal.bodies(seqs), log });
  const broker = await startBroker(
    {
      listeners: [{ type: 'tcp', host: '127.0.0.1', port: 0 }],
      accounts: [{ username: 'root', role: 'admin', passwordHash }],
    },
    { demo: false, log, deviceState: state },
  );
  cleanups.push(() => broker.close());
  // What the bridge published on the state topics (lel of each), at the broker's door.
  const published: number[] = [];
  const bus = new LocalBus({
    publish: (topic, payload, o, done) => {
      if (topic.includes('/state/')) published.push((JSON.parse(String(payload)) as EventEnvelope).data.lel as number);
      broker.send(topic, payload, o, done);
    },
    log,
  });
  const pipeline = new Pipeline({ site: 's', gateway: 'g', journal, devices, metrics: createMetrics(), log });
  bridgePipelineToBus(pipeline, bus, ROOT, state);
  const port = broker.listeners[0]!.port;

  /** A reading, delivered and through the bus when this resolves. */
  const reading = async (deviceId: string, lel: number, historical = false) => {
    pipeline.ingest({
      deviceId,
      type: 'gas.reading',
      kind: 'telemetry',
      severity: 'info',
      data: { lel },
      ...(historical ? { historical: true, deviceTime: new Date('2026-11-23T03:10:00Z') } : {}),
    });
    await pipeline.committed();
    await bus.idle();
  };

  /** An admin client recording the gas readings it receives (state and events topics). */
  const client = async (extra: IClientOptions = {}) => {
    const c: MqttClient = await connectAsync(`mqtt://127.0.0.1:${port}`, {
      protocolVersion: 4,
      reconnectPeriod: 0,
      username: 'root',
      password: PASSWORD,
      ...extra,
    });
    cleanups.push(() => c.endAsync(true));
    const got: Received[] = [];
    const sentinels: string[] = [];
    c.on('message', (topic, payload, packet) => {
      if (topic === `${ROOT}/status`) sentinels.push(String(payload));
      else got.push({ topic, lel: (JSON.parse(String(payload)) as EventEnvelope).data.lel as number, retain: packet.retain });
    });
    /**
     * What the client received once everything its subscriptions so far brought is in: it subscribes
     * to the retained status, whose retained message comes after theirs.
     */
    const settled = async () => {
      const n = sentinels.length + 1;
      await c.subscribeAsync(`${ROOT}/status`);
      await waitFor('the status sentinel', () => sentinels.length >= n);
      await c.unsubscribeAsync(`${ROOT}/status`);
      return got.splice(0);
    };
    return { c, got, settled };
  };

  await broker.publish(`${ROOT}/status`, 'online', { retain: true });
  return { state, published, reading, client, broker };
}

describe('device state on the local bus', () => {
  it('a new subscriber to <root>/state/# gets the latest reading of each device, retained, and nothing stale', async () => {
    const { reading, client, published } = await setup();
    for (const lel of [1, 2, 3]) await reading('gas-1', lel);
    await reading('gas-2', 7);
    expect(published).toEqual([]); // nobody subscribed: nothing published on the state topics
    const { c, got, settled } = await client();
    await c.subscribeAsync(`${ROOT}/state/#`);
    await waitFor('both states', () => got.length >= 2);
    expect((await settled()).sort((a, b) => a.topic.localeCompare(b.topic))).toEqual([
      { topic: STATE_1, lel: 3, retain: true },
      { topic: STATE_2, lel: 7, retain: true },
    ]);
    // `+` matches one level: one device
    await c.subscribeAsync(`${ROOT}/state/+/gas-2`);
    await waitFor('gas-2', () => got.length >= 1);
    expect(await settled()).toEqual([{ topic: STATE_2, lel: 7, retain: true }]);
  });

  it('a live subscriber gets every reading; after it unsubscribes or disconnects none is published, and a new subscriber gets the newest', async () => {
    const { reading, client, published, state } = await setup();
    const a = await client();
    await a.c.subscribeAsync(STATE_1);
    expect(state.live).toBe(true);
    for (const lel of [1, 2, 3]) await reading('gas-1', lel);
    await waitFor('three readings', () => a.got.length >= 3);
    expect(await a.settled()).toEqual([1, 2, 3].map((lel) => ({ topic: STATE_1, lel, retain: false })));
    expect(published).toEqual([1, 2, 3]);

    await a.c.unsubscribeAsync(STATE_1);
    expect(state.live).toBe(false);
    await reading('gas-1', 4);
    expect(published).toEqual([1, 2, 3]);
    const b = await client();
    await b.c.subscribeAsync(STATE_1);
    await waitFor('the state', () => b.got.length >= 1);
    expect(await b.settled()).toEqual([{ topic: STATE_1, lel: 4, retain: true }]);
    expect(await a.settled()).toEqual([]);

    await b.c.endAsync();
    await waitFor('the subscription gone with its client', () => !state.live);
    await reading('gas-1', 5);
    expect(published).toEqual([1, 2, 3]);
    const c = await client();
    await c.c.subscribeAsync(`${ROOT}/state/gas-detector/+`);
    await waitFor('the state', () => c.got.length >= 1);
    expect(await c.settled()).toEqual([{ topic: STATE_1, lel: 5, retain: true }]);
  });

  it("a persistent session's restored state subscription counts as a live subscriber again", async () => {
    const { reading, client, published, state } = await setup();
    const first = await client({ clientId: 'keeper', clean: false });
    await first.c.subscribeAsync(`${ROOT}/state/+/gas-1`, { qos: 1 });
    await first.c.endAsync();
    await waitFor('the session offline', () => !state.live);
    await reading('gas-1', 1);
    expect(published).toEqual([]);

    const again = await client({ clientId: 'keeper', clean: false });
    expect(again.c.connected).toBe(true);
    await waitFor('the restored subscription', () => state.live);
    await reading('gas-1', 2);
    await waitFor('the live reading', () => again.got.length >= 1);
    // A restored session gets no retained messages (§3.1.2.4), only what is published from now on.
    expect(await again.settled()).toEqual([{ topic: STATE_1, lel: 2, retain: false }]);
    expect(published).toEqual([2]);
  });

  it('a historical reading never replaces the state, nor is it published on the state topic', async () => {
    const { reading, client, published } = await setup();
    await reading('gas-1', 1);
    await reading('gas-1', 9, true);
    const a = await client();
    await a.c.subscribeAsync(`${ROOT}/state/#`);
    await waitFor('the state', () => a.got.length >= 1);
    expect(await a.settled()).toEqual([{ topic: STATE_1, lel: 1, retain: true }]);
    await reading('gas-1', 8, true);
    await reading('gas-1', 2);
    await waitFor('the live reading', () => a.got.length >= 1);
    expect(await a.settled()).toEqual([{ topic: STATE_1, lel: 2, retain: false }]);
    expect(published).toEqual([2]);
    const b = await client();
    await b.c.subscribeAsync(STATE_1);
    await waitFor('the state', () => b.got.length >= 1);
    expect(await b.settled()).toEqual([{ topic: STATE_1, lel: 2, retain: true }]);
  });

  it('subscriptions on # or +/+/+/+/state/+/+ count; one on <root>/events/# does not', async () => {
    const { reading, client, published, state } = await setup();
    const events = await client();
    await events.c.subscribeAsync(`${ROOT}/events/#`);
    expect(state.live).toBe(false);
    await reading('gas-1', 1);
    await waitFor('the event', () => events.got.length >= 1);
    expect(published).toEqual([]);

    const all = await client();
    await all.c.subscribeAsync('#');
    expect(state.live).toBe(true);
    await reading('gas-1', 2);
    await waitFor('event and state', () => all.got.filter((r) => r.lel === 2).length >= 2);
    expect(all.got.filter((r) => r.topic === STATE_1)).toContainEqual({ topic: STATE_1, lel: 2, retain: false });
    await all.c.unsubscribeAsync('#');
    expect(state.live).toBe(false);

    await all.c.subscribeAsync('+/+/+/+/state/+/+');
    expect(state.live).toBe(true);
    await all.c.unsubscribeAsync('+/+/+/+/state/+/+');
    expect(state.live).toBe(false);
    expect(published).toEqual([2]);
  });

  it('a retained message a client publishes on a state topic is not kept: subscribers get the gateway state', async () => {
    const { reading, client } = await setup();
    await reading('gas-1', 3);
    const admin = await client();
    const forged = JSON.stringify({ data: { lel: 99 } });
    await admin.c.publishAsync(STATE_1, forged, { retain: true, qos: 1 });
    await admin.c.publishAsync(STATE_2, forged, { retain: true, qos: 1 });
    await admin.c.publishAsync(`${ROOT}/state/other`, forged, { retain: true, qos: 1 }); // not a state topic: kept
    const a = await client();
    await a.c.subscribeAsync(`${ROOT}/state/#`);
    await waitFor('the retained messages', () => a.got.length >= 2);
    expect((await a.settled()).sort((x, y) => x.topic.localeCompare(y.topic))).toEqual([
      { topic: STATE_1, lel: 3, retain: true },
      { topic: `${ROOT}/state/other`, lel: 99, retain: true },
    ]);
  });
});

describe('DeviceState filters', () => {
  const state = new DeviceState({ root: ROOT, read: () => new Map(), log });
  it('reachesState: whether a filter could match <root>/state/<family>/<id>', () => {
    for (const f of ['#', '+/#', 'cg/#', `${ROOT}/#`, `${ROOT}/state/#`, `${ROOT}/state/+/+`, `${ROOT}/state/x/y`,
      `${ROOT}/state/x/y/#`, '+/+/+/+/state/+/+', '+/+/+/+/+/+/+', 'cg/v1/+/g/+/+/gas-1'])
      expect([f, state.reachesState(f)]).toEqual([f, true]);
    for (const f of [`${ROOT}/events/#`, `${ROOT}/state/x`, `${ROOT}/state/x/y/z`, `${ROOT}/state/+`,
      `${ROOT}/state//y`, 'cg/v1/s/other/state/#', '+/+/+/+/+/+', '+/+/+/+/+/+/+/+', '$SYS/#', 'dev/#'])
      expect([f, state.reachesState(f)]).toEqual([f, false]);
  });
  it('isStateTopic: exactly <root>/state/<family>/<id>', () => {
    expect(state.isStateTopic(STATE_1)).toBe(true);
    for (const t of [`${ROOT}/state/x`, `${ROOT}/state/x/y/z`, `${ROOT}/state//y`, `${ROOT}/events/x/y`, 'cg/v1/s/h/state/x/y'])
      expect([t, state.isStateTopic(t)]).toEqual([t, false]);
  });
});
