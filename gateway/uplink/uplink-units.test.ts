/** Unit tests of the uplink parts that need no broker: outbox, error classes, backoff, allow-list, report, metrics, CLI. */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { type EventKind, stampEvent } from '../core/envelope.js';
import type { JournalRow } from '../journal/journal.js';
import { classifyConnectError } from './connect-errors.js';
import { ALARM, EVENT, Outbox, TELEMETRY } from './outbox.js';
import { formatOutboxReport, outboxReport } from './outbox-report.js';
import { isAllowed } from './platform-commands.js';
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

function outbox(maxBytes = 1e9, onEvicted?: (n: number) => void) {
  const db = new Database(':memory:');
  const ob = new Outbox(db, { root: 'cg/v1/s/g', maxBytes, onEvicted });
  const append = (rows: JournalRow[]) => db.transaction(() => ob.txHook(rows))();
  return { db, ob, append };
}

describe('outbox', () => {
  it('rows of events not yet durable (journal durableSeq) are not fetched', () => {
    const db = new Database(':memory:');
    let durable = 0;
    const ob = new Outbox(db, { root: 'cg/v1/s/g', maxBytes: 1e9, durableSeq: () => durable });
    const rows = [row('alarm'), row('alarm')];
    db.transaction(() => ob.txHook(rows))();
    expect(ob.fetch(ALARM, 0, 10)).toEqual([]);
    durable = rows[0]!.env.seq;
    expect(ob.fetch(ALARM, 0, 10).map((r) => r.seq)).toEqual([rows[0]!.env.seq]);
    durable = rows[1]!.env.seq;
    expect(ob.fetch(ALARM, 0, 10)).toHaveLength(2);
  });

  it('one row per event in its lane, FIFO; availability also on its retained topic; deleted on ack', () => {
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
    expect(ob.fetch(TELEMETRY, 0, 1)).toHaveLength(1);
    expect(ob.fetch(TELEMETRY, ob.fetch(TELEMETRY, 0, 1)[0]!.id, 10)).toHaveLength(1);
    ob.ack(alarms);
    ob.ack(alarms); // a second ack of the same rows changes nothing
    const stats = ob.stats();
    expect(stats.map((l) => [l.lane, l.pending, l.enqueued, l.acked])).toEqual([
      ['alarm', 0, 2, 2],
      ['event', 2, 2, 0],
      ['telemetry', 2, 2, 0],
    ]);
    expect(ob.lastId()).toBe(6);
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

  it('over budget: evicts the oldest telemetry only, counts it, reports it after the transaction', async () => {
    const evictions: number[] = [];
    const { ob, append } = outbox(20_000, (n) => evictions.push(n));
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
        ob.txHook([row('alarm')]);
        throw new Error('disk full');
      })(),
    ).toThrow('disk full');
    expect(ob.stats()[ALARM]).toMatchObject({ pending: 0, enqueued: 0 });
    expect(ob.fetch(ALARM, 0, 10)).toEqual([]);
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
