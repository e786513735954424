/** Unit tests of the uplink parts that need no broker: outbox, error classes, backoff, allow-list, report, metrics, CLI. */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { type EventKind, stampEvent } from '../core/envelope.js';
import { Journal, type JournalRow } from '../journal/journal.js';
import { DirectWriter } from '../journal/tx-writer.js';
import { MIGRATIONS, migrate } from '../journal/migrations.js';
import { classifyConnectError } from './connect-errors.js';
import { Outbox, type OutboxOptions } from './outbox.js';
import { ALARM, EVENT, TELEMETRY } from './outbox-tables.js';
import { formatOutboxReport, outboxReport } from './outbox-report.js';
import { isAllowed } from './platform-commands.js';
import type { Redactor } from './privacy.js';
import { tempDir } from './testing/fixtures.js';
import { createHarness } from './testing/harness.js';
import { freePort, waitFor } from './testing/mosquitto.js';
import { UplinkConfig } from './uplink-config.js';
import { uplinkBackoff } from './uplink-connection.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

let seq = 0;
function row(
  kind: EventKind,
  type = kind === 'alarm' ? 'gas.alarm.high' : kind === 'event' ? 'gas.normal' : 'gas.reading',
): JournalRow {
  seq += 1;
  const env = stampEvent(
    { deviceId: 'gas-1', type, kind, severity: 'info', data: { n: seq, pad: 'x'.repeat(300) } },
    { site: 's', gateway: 'g', seq, device: { id: 'gas-1', family: 'gas-detector', tags: [] } },
  );
  return { env, json: JSON.stringify(env) };
}

/** An outbox in a journal's database (telemetry is read back from the journal's events). */
function outbox(o: Partial<OutboxOptions> = {}) {
  const journal = new Journal({ path: ':memory:', synchronous: 'FULL', retention: { maxAgeDays: 1, maxSizeMB: 100 } });
  cleanups.push(() => journal.close());
  const { db } = journal;
  const ob = new Outbox(db, { root: 'cg/v1/s/g', maxBytes: 1e9, ...o });
  journal.addTxHook(ob.txHook);
  // As the uplink does after each commit: eviction follows.
  const append = (rows: JournalRow[]) => {
    journal.append(rows);
    ob.evictIfOverBudget();
  };
  return { db, ob, append, journal };
}

describe('outbox', () => {
  it('rows of events not yet durable (journal durableSeq) are not fetched', () => {
    let durable = 0;
    const { ob, append } = outbox({ durableSeq: () => durable });
    const rows = [row('alarm'), row('alarm')];
    append(rows);
    const readings = [row('telemetry'), row('telemetry')];
    append(readings);
    expect(ob.fetch(ALARM, 0, 10)).toEqual([]);
    durable = rows[0]!.env.seq;
    expect(ob.fetch(ALARM, 0, 10).map((r) => r.seq)).toEqual([rows[0]!.env.seq]);
    durable = rows[1]!.env.seq;
    expect(ob.fetch(ALARM, 0, 10)).toHaveLength(2);
    expect(ob.fetch(TELEMETRY, 0, 10)).toEqual([]);
    durable = readings[1]!.env.seq;
    expect(ob.fetch(TELEMETRY, 0, 10)).toHaveLength(2);
  });

  it('one row per alarm or event in its lane, FIFO; availability also on its retained topic; deleted on ack', () => {
    const { ob, append } = outbox();
    append([
      row('telemetry'),
      row('alarm'),
      row('event', 'device.availability'),
      row('telemetry'),
      row('alarm'),
    ]);
    const alarms = ob.fetch(ALARM, 0, 10);
    expect(alarms.map((r) => r.seq)).toEqual([...alarms.map((r) => r.seq)].sort((a, b) => a - b));
    expect(alarms).toHaveLength(2);
    const events = ob.fetch(EVENT, 0, 10);
    expect(events.map((r) => [r.topic, r.retain])).toEqual([
      ['cg/v1/s/g/events/gas-detector/gas-1/device.availability', false],
      ['cg/v1/s/g/availability/gas-1', true],
    ]);
    const first = ob.fetch(TELEMETRY, 0, 1);
    expect(first).toHaveLength(1);
    expect(ob.fetch(TELEMETRY, first[0]!.id, 10, first[0]!.seq)).toHaveLength(1);
    ob.ack(alarms);
    ob.ack(alarms); // a second ack of the same rows changes nothing
    const stats = ob.stats();
    expect(stats.map((l) => [l.lane, l.pending, l.enqueued, l.acked])).toEqual([
      ['alarm', 0, 2, 2],
      ['event', 2, 2, 0],
      ['telemetry', 2, 2, 0],
    ]);
    expect(ob.lastId()).toBe(5); // two alarms, the availability's two, the telemetry's one
  });

  it('a late (historical) availability is forwarded, but not as the retained availability', () => {
    const { ob, append } = outbox();
    const late = row('event', 'device.availability');
    const env = { ...late.env, historical: true as const };
    append([{ env, json: JSON.stringify(env) }]);
    expect(ob.fetch(EVENT, 0, 10).map((r) => [r.topic, r.retain])).toEqual([
      ['cg/v1/s/g/events/gas-detector/gas-1/device.availability', false],
    ]);
  });

  it('over budget after a commit: evicts the oldest telemetry only, counts it, reports it after the transaction', async () => {
    const evictions: number[] = [];
    const { ob, append } = outbox({ maxBytes: 20_000, onEvicted: (n) => evictions.push(n) });
    for (let i = 0; i < 10; i++) append([row('alarm'), row('telemetry'), row('telemetry'), row('event')]);
    const [a, e, t] = ob.stats();
    expect(a!.pending).toBe(10);
    expect(e!.pending).toBe(10);
    expect(t!.evicted).toBeGreaterThan(0);
    expect(t!.pending + t!.evicted).toBe(20);
    expect(a!.bytes + e!.bytes + t!.bytes).toBeLessThanOrEqual(20_000);
    // the survivors are the newest telemetry
    const left = ob.fetch(TELEMETRY, 0, 100).map((r) => r.seq);
    expect(left).toEqual([...left].sort((x, y) => x - y));
    expect(Math.max(...left)).toBe(seq - 1);
    await new Promise((r) => setImmediate(r));
    expect(evictions.reduce((s, n) => s + n, 0)).toBe(t!.evicted);
  });

  it('a rolled-back journal transaction leaves no outbox row', () => {
    const { db, ob } = outbox();
    expect(() =>
      db.transaction(() => {
        ob.txHook([row('alarm'), row('telemetry')], new DirectWriter(db));
        throw new Error('disk full');
      })(),
    ).toThrow('disk full');
    expect(ob.stats()[ALARM]).toMatchObject({ pending: 0, enqueued: 0 });
    expect(ob.stats()[TELEMETRY]).toMatchObject({ pending: 0, enqueued: 0 });
    expect(ob.fetch(ALARM, 0, 10)).toEqual([]);
    expect(ob.fetch(TELEMETRY, 0, 10)).toEqual([]);
  });

  it('the telemetry of a transaction is one row; its readings are read back from the journal, each on its own topic', () => {
    const { db, ob, append } = outbox();
    const rows = [row('telemetry'), row('alarm'), row('telemetry'), row('telemetry'), row('event'), row('telemetry')];
    append(rows);
    const stored = db.prepare('SELECT lane, COUNT(*) AS n FROM outbox GROUP BY lane ORDER BY lane').all();
    expect(stored).toEqual([
      { lane: ALARM, n: 1 },
      { lane: EVENT, n: 1 },
      { lane: TELEMETRY, n: 1 },
    ]);
    const readings = rows.filter((r) => r.env.kind === 'telemetry');
    const sent = ob.fetch(TELEMETRY, 0, 10);
    expect(sent.map((m) => [m.seq, m.eventId, m.topic, m.payload, m.retain])).toEqual(
      readings.map((r) => [r.env.seq, r.env.id, 'cg/v1/s/g/events/gas-detector/gas-1/gas.reading', r.json, false]),
    );
    // the last one's acknowledgement deletes the row; each before it moves the row's start on
    expect(sent.map((m) => m.settles)).toEqual([false, false, false, true]);
    expect(ob.stats()[TELEMETRY]).toMatchObject({ pending: 4, enqueued: 4 });
    ob.ack(sent.slice(0, 2));
    ob.ack(sent.slice(0, 2)); // a second ack of the same messages changes nothing
    expect(ob.stats()[TELEMETRY]).toMatchObject({ pending: 2, acked: 2 });
    expect(ob.fetch(TELEMETRY, 0, 10).map((m) => m.seq)).toEqual(sent.slice(2).map((m) => m.seq));
    ob.ack(sent.slice(2));
    expect(ob.fetch(TELEMETRY, 0, 10)).toEqual([]);
    expect(ob.stats()[TELEMETRY]).toMatchObject({ pending: 0, bytes: 0, enqueued: 4, acked: 4 });
  });

  it('a window smaller than a row: fetching goes on inside the row after the last reading sent', () => {
    const { ob, append } = outbox();
    append([row('telemetry'), row('telemetry'), row('telemetry')]);
    append([row('telemetry'), row('telemetry')]);
    const seqs: number[] = [];
    let after = { id: 0, seq: 0 };
    for (let i = 0; i < 10; i++) {
      const got = ob.fetch(TELEMETRY, after.id, 2, after.seq);
      if (!got.length) break;
      seqs.push(...got.map((m) => m.seq));
      const last = got[got.length - 1]!;
      after = { id: last.id, seq: last.settles ? 0 : last.seq };
    }
    expect(seqs).toEqual([seq - 4, seq - 3, seq - 2, seq - 1, seq]);
  });

  it('a reading with personal data to rewrite gets a row of its own, rewritten, and is not sent twice', () => {
    const redact: Redactor = (env) => (env.data.card ? { ...env, data: { ...env.data, card: '1****9' } } : undefined);
    const { ob, append } = outbox({ redact });
    const rows = [row('telemetry'), row('telemetry'), row('telemetry'), row('telemetry')];
    const personal = rows[1]!;
    personal.env.data.card = '123456789';
    personal.json = JSON.stringify(personal.env);
    append(rows);
    const sent = ob.fetch(TELEMETRY, 0, 10);
    expect(sent.map((m) => m.seq)).toEqual(rows.map((r) => r.env.seq));
    expect(sent.map((m) => (JSON.parse(m.payload) as { data: { card?: string } }).data.card)).toEqual([
      undefined,
      '1****9',
      undefined,
      undefined,
    ]);
    expect(new Set(sent.map((m) => m.id)).size).toBe(3); // before, itself, after
    ob.ack(sent);
    expect(ob.stats()[TELEMETRY]).toMatchObject({ pending: 0, acked: 4 });
  });

  it("readings the journal's retention removed before they were sent are counted as evicted", async () => {
    const evictions: number[] = [];
    const { db, ob, append } = outbox({ onEvicted: (n) => evictions.push(n) });
    append([row('telemetry'), row('telemetry')]);
    append([row('telemetry'), row('telemetry'), row('telemetry')]);
    db.prepare('DELETE FROM events WHERE seq <= ?').run(seq - 1); // the first row whole, the second but its last
    const sent = ob.fetch(TELEMETRY, 0, 10);
    expect(sent.map((m) => [m.seq, m.settles])).toEqual([[seq, true]]);
    expect(ob.stats()[TELEMETRY]).toMatchObject({ pending: 3, evicted: 2 });
    ob.ack(sent);
    expect(ob.stats()[TELEMETRY]).toMatchObject({ pending: 0, bytes: 0, acked: 1, evicted: 4 });
    await new Promise((r) => setImmediate(r));
    expect(evictions.reduce((sum, e) => sum + e, 0)).toBe(4);
  });
});

describe('outbox written by the release before telemetry rows', () => {
  it('is upgraded at open; its rows of one reading each are still sent and settled', () => {
    const path = join(tempDir('outbox-v2'), 'gateway.db');
    const old = new Database(path);
    migrate(old, path, MIGRATIONS.slice(0, 2));
    old.exec(`
      CREATE TABLE outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, lane INTEGER NOT NULL, seq INTEGER NOT NULL,
        event_id TEXT NOT NULL, topic TEXT NOT NULL, retain INTEGER NOT NULL, created_at INTEGER NOT NULL,
        bytes INTEGER NOT NULL, payload TEXT NOT NULL);
      CREATE TABLE outbox_stats (lane INTEGER PRIMARY KEY, pending INTEGER NOT NULL DEFAULT 0, bytes INTEGER NOT NULL DEFAULT 0,
        enqueued INTEGER NOT NULL DEFAULT 0, acked INTEGER NOT NULL DEFAULT 0, evicted INTEGER NOT NULL DEFAULT 0);
      INSERT INTO outbox_stats (lane, pending, bytes, enqueued) VALUES (0, 0, 0, 0), (1, 0, 0, 0), (2, 2, 200, 2);
      INSERT INTO outbox (lane, seq, event_id, topic, retain, created_at, bytes, payload) VALUES
        (2, 1, 'e1', 'cg/v1/s/g/events/gas-detector/gas-1/gas.reading', 0, 0, 100, '{"seq":1}'),
        (2, 2, 'e2', 'cg/v1/s/g/events/gas-detector/gas-1/gas.reading', 0, 0, 100, '{"seq":2}');
    `);
    old.close();
    const journal = new Journal({ path, synchronous: 'FULL', retention: { maxAgeDays: 1, maxSizeMB: 100 } });
    cleanups.push(() => journal.close());
    expect(journal.migrated.map((m) => m.version)).toEqual([3]);
    const ob = new Outbox(journal.db, { root: 'cg/v1/s/g', maxBytes: 1e9 });
    const sent = ob.fetch(TELEMETRY, 0, 10);
    expect(sent.map((m) => [m.eventId, m.payload, m.settles])).toEqual([
      ['e1', '{"seq":1}', true],
      ['e2', '{"seq":2}', true],
    ]);
    ob.ack(sent);
    expect(ob.stats()[TELEMETRY]).toMatchObject({ pending: 0, bytes: 0, acked: 2 });
  });
});

describe('connect errors and backoff', () => {
  it('classifies CONNACK refusals, TLS and network errors', () => {
    const rc = (code: number) => Object.assign(new Error('Connection refused'), { code });
    expect(classifyConnectError(rc(5), 4).code).toBe('UPLINK_AUTH');
    expect(classifyConnectError(rc(4), 4).code).toBe('UPLINK_AUTH');
    expect(classifyConnectError(rc(0x86), 5).code).toBe('UPLINK_AUTH');
    expect(classifyConnectError(rc(0x87), 5).code).toBe('UPLINK_AUTH');
    expect(classifyConnectError(rc(1), 5).reason).toBe('protocol'); // a 3.1.1-only broker
    expect(classifyConnectError(rc(0x84), 5).reason).toBe('protocol');
    expect(classifyConnectError(rc(3), 4).code).toBe('UPLINK_REFUSED');
    const sys = (code: string, message = code) => Object.assign(new Error(message), { code });
    expect(classifyConnectError(sys('SELF_SIGNED_CERT_IN_CHAIN'), 5).code).toBe('UPLINK_TLS');
    expect(classifyConnectError(sys('UNABLE_TO_VERIFY_LEAF_SIGNATURE'), 5).code).toBe('UPLINK_TLS');
    expect(classifyConnectError(sys('ERR_TLS_CERT_ALTNAME_INVALID'), 5).code).toBe('UPLINK_TLS');
    expect(classifyConnectError(sys('ECONNREFUSED'), 5).code).toBe('UPLINK_UNREACHABLE');
    expect(classifyConnectError(sys('ENOENT'), 5).code).toBe('UPLINK_FILE');
  });

  it('backoff doubles up to the maximum, half fixed and half jitter', () => {
    /** The delay before attempt n (1-based) after n failures in a row. */
    const delay = (n: number, random: () => number, initialMs = 1000, maxMs = 60_000): number => {
      const b = uplinkBackoff({ initialMs, maxMs, authFailureMs: 300_000 }, random);
      for (let i = 1; i < n; i++) b.next();
      return b.next();
    };
    expect(delay(1, () => 0)).toBe(500);
    expect(delay(1, () => 1)).toBe(1000);
    expect(delay(3, () => 1)).toBe(4000);
    expect(delay(30, () => 1)).toBe(60_000);
    expect(delay(30, () => 0)).toBe(30_000);
    expect(delay(1, () => 1, 5000, 2000)).toBe(2000); // a maximum below the initial delay caps it
  });
});

describe('command allow-list', () => {
  const cfg = UplinkConfig.parse({
    url: 'mqtt://x:1883',
    commands: {
      accounts: [
        { account: 'ops', allow: [{ family: 'gas-detector', commands: ['valve.close'] }] },
        { account: 'admin', allow: [{ family: '*', commands: ['*'] }] },
      ],
    },
  }).commands;
  it('grants per account, family and command; nothing for unknown accounts or devices', () => {
    expect(isAllowed(cfg, 'ops', 'gas-detector', 'valve.close')).toBe(true);
    expect(isAllowed(cfg, 'ops', 'gas-detector', 'valve.open')).toBe(false);
    expect(isAllowed(cfg, 'ops', 'streetlight', 'valve.close')).toBe(false);
    expect(isAllowed(cfg, 'admin', 'streetlight', 'dim')).toBe(true);
    expect(isAllowed(cfg, 'admin', undefined, 'dim')).toBe(false);
    expect(isAllowed(cfg, '', 'gas-detector', 'valve.close')).toBe(false);
    expect(isAllowed(cfg, 'nobody', 'gas-detector', 'valve.close')).toBe(false);
  });
});

describe('operations', () => {
  it('/metrics and `gateway outbox` show link state, backlog per lane, oldest pending age, drain rate and evictions', async () => {
    const dir = tempDir('ops');
    const dbPath = join(dir, 'gw.db');
    const port = await freePort();
    const h = createHarness({
      dbPath,
      uplink: { url: `mqtt://127.0.0.1:${port}`, backoff: { initialMs: 50, maxMs: 200 } },
    });
    cleanups.push(() => h.close());
    h.uplink.start();
    h.emit('alarm');
    h.emit('telemetry');
    h.emit('telemetry');
    await h.pipeline.committed();
    await waitFor(
      'metrics updated',
      () => h.uplink.outbox.totalPending() === 3 && h.logs.some((l) => l.code === 'UPLINK_UNREACHABLE'),
    );
    let text = '';
    await waitFor('backlog in /metrics', () => {
      void h.metrics.registry.metrics().then((t) => {
        text = t;
      });
      return text.includes('gateway_uplink_backlog{lane="telemetry"} 2');
    });
    expect(text).toContain('gateway_uplink_link_up 0');
    expect(text).toContain('gateway_uplink_backlog{lane="alarm"} 1');
    expect(text).toMatch(/gateway_uplink_oldest_pending_seconds\{lane="alarm"\} [0-9.]+/);
    expect(text).toContain('gateway_uplink_drain_rate 0');
    expect(text).toContain('gateway_uplink_evicted_total 0');
    expect(text).toMatch(/gateway_uplink_connect_failures_total\{reason="unreachable"\} [1-9]/);

    const report = await outboxReport(dbPath, { audit: 5 });
    expect(report.link.state).toMatch(/backoff|connecting/);
    expect(report.link.lastError).toMatch(/UPLINK_UNREACHABLE/);
    expect(report.backlog).toBe(3);
    expect(report.lanes.map((l) => [l.lane, l.pending])).toEqual([
      ['alarm', 1],
      ['event', 0],
      ['telemetry', 2],
    ]);
    expect(formatOutboxReport(report)).toMatch(/backlog: +3 messages/);

    // the CLI, on a site file that names this database
    const site = join(dir, 'site.yaml');
    writeFileSync(
      site,
      `site: { id: test-site }\ngateway: { id: gw-test }\njournal: { path: ${dbPath} }\nuplink: { url: "mqtt://127.0.0.1:${port}" }\n`,
    );
    const out = execFileSync(
      process.execPath,
      ['--import', 'tsx', 'gateway/cli.ts', 'outbox', '--config', site],
      { cwd: REPO, encoding: 'utf8' },
    );
    expect(out).toMatch(/link: +(backoff|connecting)/);
    expect(out).toMatch(/backlog: +3 messages/);
    expect(out).toMatch(/drain rate: +0 messages\/s/);
    expect(out).toMatch(/alarm +1 /);
    expect(out).toMatch(/telemetry +2 /);
  });
});
