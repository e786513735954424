/**
 * Store-and-forward against a real mosquitto as the city broker:
 * outage under load, alarms first during a backlog, disk budget eviction.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { EventEnvelope } from '../core/envelope.js';
import { ALARM, EVENT, TELEMETRY } from './outbox-tables.js';
import { type CityBroker, cityBroker, tempDir } from './testing/fixtures.js';
import { createHarness, type Harness, ROOT } from './testing/harness.js';
import { freePort, type Received, sleep, waitFor } from './testing/mosquitto.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

function harness(
  dir: string,
  url: string,
  extra: Record<string, unknown> = {},
  trace?: Parameters<typeof createHarness>[0]['trace'],
) {
  const h = createHarness({
    dbPath: join(dir, 'gw.db'),
    uplink: { url, backoff: { initialMs: 50, maxMs: 200, authFailureMs: 300 }, ...extra },
    trace,
  });
  cleanups.push(() => h.close());
  h.uplink.start();
  return h;
}

async function withBroker(dir: string, startUp = true): Promise<CityBroker> {
  const b = await cityBroker(dir, {}, startUp);
  cleanups.push(() => b.close());
  return b;
}

const laneOf = (m: Received) =>
  m.json.kind === 'alarm' ? ALARM : m.json.kind === 'event' ? EVENT : TELEMETRY;

/** Every committed event, from the journal. */
function committed(h: Harness): EventEnvelope[] {
  return h.journal.query({ limit: 10_000_000 });
}

describe('uplink to a real mosquitto', () => {
  it('loses nothing when the city broker goes down under load and comes back; FIFO per lane; duplicates only when unacknowledged, with the same id', async () => {
    const dir = tempDir('outage');
    const broker = await withBroker(dir);
    const published = new Map<string, number>();
    const ackedAt = new Map<string, number>();
    const republishedAfterAck: string[] = [];
    let step = 0;
    const h = harness(dir, broker.url, { outbox: { inflightWindow: 50 } }, (what, row) => {
      step += 1;
      if (row.topic.includes('/availability/')) return;
      if (what === 'publish') {
        if (ackedAt.has(row.eventId)) republishedAfterAck.push(row.eventId);
        published.set(row.eventId, (published.get(row.eventId) ?? 0) + 1);
      } else if (!ackedAt.has(row.eventId)) ackedAt.set(row.eventId, step);
    });
    await waitFor('uplink connected', () => h.uplink.state === 'connected');

    const kinds = [
      'telemetry',
      'telemetry',
      'event',
      'telemetry',
      'alarm',
      'telemetry',
      'telemetry',
      'event',
    ] as const;
    for (let round = 0; round < 60; round++) {
      for (let i = 0; i < 40; i++) h.emit(kinds[(round + i) % kinds.length]!);
      await h.pipeline.committed();
      if (round === 15) await broker.down(); // city broker stops while messages are in flight
      if (round === 40) await broker.up();
      await sleep(10);
    }
    const all = committed(h);
    expect(all.length).toBe(2400);
    const ids = new Set(all.map((e) => e.id));
    const seen = () => new Set(broker.events().map((m) => m.json.id as string));
    await waitFor(
      'every committed event at the city broker',
      () => seen().size === ids.size && [...ids].every((id) => seen().has(id)),
    );

    // Every event arrived; nothing else did.
    expect([...seen()].sort()).toEqual([...ids].sort());
    // FIFO within each lane (first copies; a duplicate is a re-send of an unacknowledged message).
    const firstSeq: number[][] = [[], [], []];
    const copies = new Map<string, Received[]>();
    for (const m of broker.events()) {
      const id = m.json.id as string;
      if (!copies.has(id)) {
        copies.set(id, []);
        firstSeq[laneOf(m)]!.push(m.json.seq as number);
      }
      copies.get(id)!.push(m);
    }
    for (const seqs of firstSeq) expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(firstSeq.every((s) => s.length > 0)).toBe(true);
    // Duplicates: same id, same event; never a message the broker had acknowledged.
    for (const [, list] of copies) {
      for (const m of list) {
        expect(m.json.seq).toBe(list[0]!.json.seq);
        expect(m.userProperties.id).toBe(m.json.id);
        expect(m.userProperties.seq).toBe(String(m.json.seq));
      }
    }
    expect(republishedAfterAck).toEqual([]);
    // Events committed while the broker was down were replayed with the historical flag.
    const historical = broker.events().filter((m) => m.json.historical === true);
    expect(historical.length).toBeGreaterThan(0);
    expect(historical.every((m) => m.userProperties.historical === 'true')).toBe(true);
    expect(broker.events().some((m) => m.json.historical === undefined)).toBe(true);
    // Retained status and birth: online again, in a later session.
    const status = broker.messages.filter((m) => m.topic === `${ROOT}/status`).at(-1)!;
    expect(status.json).toMatchObject({ status: 'online' });
    expect(status.json.session as number).toBeGreaterThanOrEqual(2);
    const birth = broker.messages.filter((m) => m.topic === `${ROOT}/birth`).at(-1)!;
    expect(birth.json).toMatchObject({ v: 1, gateway: 'gw-test', session: status.json.session });
    expect(
      (birth.json.devices as { id: string; commands: string[] }[]).find((d) => d.id === 'gas-1')?.commands,
    ).toContain('valve.close');
    // Outbox empty: everything acknowledged was deleted.
    await waitFor('outbox empty', () => h.uplink.outbox.totalPending() === 0);
  });

  it('alarms raised during a long backlog reach the city broker before the backlog drains', async () => {
    const dir = tempDir('backlog');
    const broker = await withBroker(dir, false);
    const h = harness(dir, broker.url, { outbox: { inflightWindow: 100, telemetryExpiryS: 3600 } });
    const backlog = 20_000;
    for (let b = 0; b < backlog / 1000; b++) {
      for (let i = 0; i < 1000; i++) h.emit('telemetry');
      await h.pipeline.committed();
    }
    expect(h.uplink.outbox.stats()[TELEMETRY]!.pending).toBe(backlog);
    await broker.up();
    await waitFor('the drain has started', () => broker.events().length > 0);
    const alarm = h.emit('alarm');
    await waitFor('the alarm at the city broker', () => broker.events().some((m) => m.json.id === alarm.id));
    const at = broker.events().findIndex((m) => m.json.id === alarm.id);
    const telemetryBefore = broker
      .events()
      .slice(0, at)
      .filter((m) => m.json.kind === 'telemetry').length;
    expect(telemetryBefore).toBeLessThan(backlog);
    const got = broker.events()[at]!;
    expect(got.json.historical).toBeUndefined();
    expect(got.userProperties.historical).toBeUndefined();
    await waitFor('backlog drained', () => broker.events().length >= backlog + 1, 3000);
    // the backlog came after the alarm for its larger part, and all of it is flagged historical
    expect(broker.events().slice(at + 1).length).toBeGreaterThan(0);
    const telemetry = broker.events().filter((m) => m.json.kind === 'telemetry');
    expect(telemetry.every((m) => m.json.historical === true)).toBe(true);
    // telemetry carries a message expiry (what is left of it when mosquitto delivers); alarms never expire
    expect(
      telemetry.every((m) => (m.messageExpiryInterval ?? 0) > 0 && (m.messageExpiryInterval ?? 0) <= 3600),
    ).toBe(true);
    expect(got.messageExpiryInterval).toBeUndefined();
  });

  it("acknowledgements that find the journal's write lock taken wait for a later commit, without holding the event loop; nothing is sent twice", async () => {
    const dir = tempDir('ack-busy');
    const broker = await withBroker(dir);
    const other = new Database(join(dir, 'gw.db'));
    cleanups.push(async () => void other.close());
    const ids = new Set<string>();
    const published: string[] = [];
    let acks = 0;
    const h = harness(dir, broker.url, {}, (what, row) => {
      if (!ids.has(row.eventId)) return;
      if (what === 'publish') published.push(row.eventId);
      // At the first PUBACK another connection (as the journal's worker does at a checkpoint) takes the write lock.
      else if (++acks === 1) other.exec('BEGIN IMMEDIATE');
    });
    await waitFor('connected', () => h.uplink.state === 'connected');
    const alarms = [h.emit('alarm'), h.emit('alarm'), h.emit('alarm')];
    for (const a of alarms) ids.add(a.id);
    await h.pipeline.committed();
    await waitFor('every alarm acknowledged by the city broker', () => acks >= alarms.length);
    // The lock is released by a timer of this event loop: it runs only if nothing waits for the lock.
    await sleep(100);
    expect(other.inTransaction).toBe(true);
    expect(h.uplink.outbox.stats()[ALARM]!.pending).toBe(alarms.length); // not deleted yet
    other.exec('COMMIT');
    await waitFor('the acknowledged rows deleted', () => h.uplink.outbox.stats()[ALARM]!.pending === 0);
    expect(h.uplink.outbox.stats()[ALARM]!.acked).toBe(alarms.length);
    expect(published.sort()).toEqual([...ids].sort());
    expect(h.logs.filter((l) => l.msg === 'outbox delete failed')).toEqual([]);
  });

  it('disk budget reached: oldest telemetry evicted and counted, an alarm raised, no alarm lost', async () => {
    const dir = tempDir('budget');
    const broker = await withBroker(dir, false);
    const h = harness(dir, broker.url, { outbox: { maxSizeMB: 0.25, evictionAlarmIntervalMs: 50 } });
    const alarms: string[] = [];
    let telemetry = 0;
    for (let b = 0; b < 30; b++) {
      for (let i = 0; i < 100; i++) {
        if (i % 25 === 0) alarms.push(h.emit('alarm').id);
        else {
          h.emit('telemetry', { pad: 'x'.repeat(200) });
          telemetry += 1;
        }
      }
      await h.pipeline.committed();
    }
    const evicted = h.uplink.outbox.stats()[TELEMETRY]!.evicted;
    const reported = () =>
      committed(h)
        .filter((e) => e.type === 'gateway.outbox.evicted')
        .reduce((s, e) => s + (e.data.evicted as number), 0);
    await waitFor('every eviction reported by a gateway alarm', () => reported() === evicted);
    expect(evicted).toBeGreaterThan(0);
    const metrics = await h.metrics.registry.getSingleMetricAsString('gateway_uplink_evicted_total');
    expect(metrics).toContain(`gateway_uplink_evicted_total ${evicted}`);
    const evictionAlarms = committed(h).filter((e) => e.type === 'gateway.outbox.evicted');
    expect(evictionAlarms[0]).toMatchObject({ kind: 'alarm', device: { id: 'gw-test', family: 'gateway' } });
    expect(evictionAlarms.reduce((s, e) => s + (e.data.evicted as number), 0)).toBe(evicted);
    expect(h.uplink.outbox.stats()[ALARM]!.pending).toBe(alarms.length + evictionAlarms.length);

    await broker.up();
    const want = [...alarms, ...evictionAlarms.map((e) => e.id)];
    await waitFor(
      'outbox drained',
      () => h.uplink.outbox.totalPending() === 0 && h.uplink.stats().inflight === 0,
    );
    await waitFor('every alarm at the city broker', () => {
      const got = new Set(broker.events().map((m) => m.json.id));
      return want.every((id) => got.has(id));
    });
    const tSeqs = [
      ...new Set(
        broker
          .events()
          .filter((m) => m.json.kind === 'telemetry')
          .map((m) => m.json.seq as number),
      ),
    ];
    expect(tSeqs.length + evicted).toBe(telemetry);
    // the newest telemetry survived: what arrived is the tail of the telemetry sequence
    const allT = committed(h)
      .filter((e) => e.kind === 'telemetry')
      .map((e) => e.seq);
    expect(tSeqs.sort((a, b) => a - b)).toEqual(allT.slice(evicted));
  });

  it('keeps trying while the city broker is unreachable and never publishes from a stale client', async () => {
    const dir = tempDir('down');
    const port = await freePort();
    const h = harness(dir, `mqtt://127.0.0.1:${port}`);
    h.emit('alarm');
    await h.pipeline.committed();
    await waitFor(
      'three failed attempts',
      () => h.logs.filter((l) => l.code === 'UPLINK_UNREACHABLE').length >= 3,
    );
    const delays = h.logs.filter((l) => l.code === 'UPLINK_UNREACHABLE').map((l) => l.retryInMs as number);
    expect(delays.every((d) => d > 0 && d <= 200)).toBe(true);
    expect(h.uplink.state).not.toBe('connected');
    expect(h.uplink.outbox.totalPending()).toBe(1);
  });
});

describe('uplink protocol fallback', () => {
  it('falls back to MQTT 3.1.1 when the broker refuses MQTT 5 (aedes), and still delivers with the historical flag in the payload', async () => {
    const { Aedes } = await import('aedes');
    const { createServer } = await import('node:net');
    const aedes = await Aedes.createBroker();
    const server = createServer(aedes.handle);
    const port = await freePort();
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          aedes.close(() => server.close(() => resolve()));
        }),
    );
    const got: { topic: string; payload: string }[] = [];
    aedes.on('publish', (packet, client) => {
      if (client) got.push({ topic: packet.topic, payload: packet.payload.toString() });
    });
    const dir = tempDir('fallback');
    const h = harness(dir, `mqtt://127.0.0.1:${port}`);
    const env = h.emit('alarm');
    await waitFor('connected', () => h.uplink.state === 'connected');
    expect(h.uplink.connectedProtocol).toBe('3.1.1');
    expect(h.logs.some((l) => l.msg === 'uplink: switching MQTT protocol version')).toBe(true);
    await waitFor('alarm delivered', () => got.some((g) => g.payload.includes(env.id)));
    const msg = JSON.parse(got.find((g) => g.payload.includes(env.id))!.payload) as Record<string, unknown>;
    expect(msg).toMatchObject({ id: env.id, kind: 'alarm', historical: true });
  });
});
