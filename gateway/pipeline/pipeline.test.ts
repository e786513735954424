import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { Journal } from '../journal/journal.js';
import type { DeviceRef, EventEnvelope } from '../core/envelope.js';
import { createLogger } from '../core/logger.js';
import { createMetrics } from '../core/metrics.js';
import { bridgePipelineToBus, LocalBus } from './local-bus.js';
import { Pipeline } from './pipeline.js';
import { waitFor } from '../testing/wait-for.js';

const devices = new Map<string, DeviceRef>([
  ['gas-1', { id: 'gas-1', family: 'gas-detector', building: 'B1', tags: [] }],
]);

function setup(path = join(mkdtempSync(join(tmpdir(), 'pipe-')), 'j.db')) {
  const journal = new Journal({ path, synchronous: 'NORMAL', retention: { maxAgeDays: 1, maxSizeMB: 10 } });
  const metrics = createMetrics();
  const pipeline = new Pipeline({
    site: 's',
    gateway: 'g',
    journal,
    devices,
    metrics,
    log: createLogger('silent'),
    retryMs: 10,
  });
  const committed: EventEnvelope[] = [];
  pipeline.onCommitted((env) => committed.push(env));
  return { path, journal, metrics, pipeline, committed };
}

const reading = {
  deviceId: 'gas-1',
  type: 'gas.reading',
  kind: 'telemetry',
  severity: 'info',
  data: { lel: 1 },
} as const;

describe('pipeline', () => {
  it('stamps, commits in one batch, then hands events on in sequence order', async () => {
    const { journal, pipeline, committed } = setup();
    const envs = [pipeline.ingest(reading), pipeline.ingest({ ...reading, data: { lel: 2 } })];
    expect(committed).toHaveLength(0); // nothing is handed on before the commit
    await pipeline.committed();
    expect(committed.map((e) => e.seq)).toEqual([1, 2]);
    expect(committed[0]).toMatchObject({
      v: 1,
      site: 's',
      gateway: 'g',
      device: { id: 'gas-1', building: 'B1' },
      kind: 'telemetry',
    });
    expect(envs.map((e) => e?.id)).toEqual(committed.map((e) => e.id));
    expect(journal.count()).toBe(2);
  });

  it('onIngested listeners see each event before its commit and may ingest into the same batch', async () => {
    const { pipeline, committed } = setup();
    const seenAtIngest: number[] = [];
    pipeline.onIngested((env) => {
      seenAtIngest.push(committed.length);
      if (env.type === 'gas.reading') pipeline.ingest({ ...reading, type: 'gas.derived', kind: 'alarm', severity: 'critical' });
    });
    pipeline.ingest(reading);
    expect(seenAtIngest).toEqual([0, 0]); // trigger and derived event, both before any commit
    await pipeline.committed();
    expect(committed.map((e) => [e.seq, e.type])).toEqual([
      [1, 'gas.reading'],
      [2, 'gas.derived'],
    ]);
  });

  it('continues the sequence after a restart', async () => {
    const first = setup();
    first.pipeline.ingest(reading);
    await first.pipeline.committed();
    first.journal.close();
    const again = setup(first.path);
    again.pipeline.ingest(reading);
    await again.pipeline.committed();
    expect(again.committed[0]?.seq).toBe(2);
  });

  it('rejects events of unknown devices and invalid envelopes: counted, never stored', async () => {
    const { journal, pipeline, metrics } = setup();
    expect(pipeline.ingest({ ...reading, deviceId: 'ghost' })).toBeUndefined();
    expect(pipeline.ingest({ ...reading, type: 'Not A Type' })).toBeUndefined();
    expect(pipeline.ingest({ ...reading, severity: 'loud' as 'info' })).toBeUndefined();
    expect(pipeline.ingest({ ...reading, data: [1] as unknown as Record<string, unknown> })).toBeUndefined();
    expect(pipeline.ingest({ ...reading, deviceTime: new Date('not a date') })).toBeUndefined();
    expect(pipeline.ingest({ ...reading, receivedAt: new Date(8.64e15) })).toBeUndefined(); // year 275760
    expect(pipeline.ingest(reading)?.seq).toBe(1); // no sequence number was used up by the rejects
    await pipeline.committed();
    expect(journal.count()).toBe(1);
    const invalid = await metrics.invalidInputs.get();
    expect(invalid.values.reduce((n, v) => n + v.value, 0)).toBe(6);
  });

  it('commits at most maxCommit events per transaction, one transaction per tick, in order', async () => {
    const { journal, metrics } = setup();
    const pipeline = new Pipeline({ site: 's', gateway: 'g', journal, devices, metrics, log: createLogger('silent'), limits: { maxCommit: 2 } });
    const transactions: number[][] = [];
    journal.addTxHook((rows) => transactions.push(rows.map((r) => r.env.seq)));
    for (let i = 0; i < 5; i++) pipeline.ingest({ ...reading, data: { lel: i } });
    await pipeline.committed();
    expect(transactions).toEqual([[1, 2], [3, 4], [5]]);
  });

  it('readings wait for company in their transaction; an alarm takes them along at once; a full batch goes at once', async () => {
    const { journal, metrics } = setup();
    const limits = { maxCommit: 4, telemetryCommitMs: 60_000 }; // longer than the test: only company commits them
    const pipeline = new Pipeline({ site: 's', gateway: 'g', journal, devices, metrics, log: createLogger('silent'), limits });
    const transactions: string[][] = [];
    journal.addTxHook((rows) => transactions.push(rows.map((r) => `${r.env.seq} ${r.env.kind}`)));
    const tick = () => new Promise((r) => setImmediate(r));
    pipeline.ingest(reading);
    pipeline.ingest({ ...reading, data: { lel: 2 } });
    await tick();
    await tick();
    expect(transactions).toEqual([]); // two readings wait
    pipeline.ingest({ ...reading, type: 'gas.alarm.high', kind: 'alarm', severity: 'critical' });
    await Promise.resolve();
    expect(transactions).toEqual([['1 telemetry', '2 telemetry', '3 alarm']]); // no turn of the event loop
    for (let i = 0; i < 4; i++) pipeline.ingest({ ...reading, data: { lel: i } });
    await tick();
    expect(transactions.at(-1)).toEqual(['4 telemetry', '5 telemetry', '6 telemetry', '7 telemetry']); // full
    pipeline.ingest(reading);
    pipeline.flush(true); // shutdown: nothing waits
    expect(transactions.at(-1)).toEqual(['8 telemetry']);
    await pipeline.committed(); // the next pipeline on this journal starts after its last seq
    // Alone, a reading commits once its wait is over.
    const alone = new Pipeline({ site: 's', gateway: 'g', journal, devices, metrics, log: createLogger('silent'), limits: { telemetryCommitMs: 20 } });
    alone.ingest(reading);
    await tick();
    expect(transactions).toHaveLength(3);
    await alone.committed();
    expect(transactions.at(-1)).toEqual(['9 telemetry']);
  });

  it('keeps events queued and retries when a commit fails', async () => {
    const { journal, pipeline, committed } = setup();
    let failures = 1;
    journal.addTxHook(() => {
      if (failures-- > 0) throw new Error('disk I/O error');
    });
    pipeline.ingest(reading);
    await pipeline.committed();
    expect(committed.map((e) => e.seq)).toEqual([1]);
    expect(journal.count()).toBe(1);
  });

  it('while downstream is full: telemetry waits, coalesced per device and type, alarms go at once; relief when it drains', async () => {
    const { journal, pipeline, committed } = setup();
    let full = true;
    pipeline.setDownstream(() => full);
    const alarm = { ...reading, type: 'gas.alarm.high', kind: 'alarm', severity: 'critical' } as const;
    expect(pipeline.ingest(reading)).toBeUndefined(); // parked: no seq yet
    expect(pipeline.ingest({ ...reading, data: { lel: 2 } })).toBeUndefined(); // replaces the first
    expect(pipeline.ingest({ ...reading, type: 'gas.temperature', data: { c: 20 } })).toBeUndefined();
    expect(pipeline.ingest(alarm)?.seq).toBe(1);
    expect(pipeline.pressure).toBe('behind');
    let relieved = false;
    const relief = pipeline.relief(60_000).then(() => {
      relieved = true;
    });
    await waitFor('the alarm committed', () => committed.length === 1);
    expect(committed.map((e) => e.type)).toEqual(['gas.alarm.high']);
    expect(relieved).toBe(false);
    expect(pipeline.shedCount).toBe(1);

    full = false;
    await relief;
    await pipeline.committed();
    expect(committed.map((e) => [e.seq, e.type, e.data])).toEqual([
      [1, 'gas.alarm.high', { lel: 1 }],
      [2, 'gas.reading', { lel: 2 }], // the latest reading survived, stamped when it entered a batch
      [3, 'gas.temperature', { c: 20 }],
    ]);
    expect(journal.count()).toBe(3);
    expect(pipeline.pressure).toBe('ok');
  });

  it("waiting telemetry is stamped after what an alarm's delivery queued for the turn's check phase (the broker's writes)", async () => {
    const { pipeline } = setup();
    let full = true;
    pipeline.setDownstream(() => full);
    const order: string[] = [];
    pipeline.onIngested((env) => order.push(`stamped ${env.type}`));
    // As aedes delivers to a subscriber's connection: from a setImmediate.
    pipeline.onDelivered((env) => void (env.kind === 'alarm' && setImmediate(() => order.push('alarm written'))));
    pipeline.ingest(reading); // waits: a flush is queued for this turn's check phase
    full = false;
    pipeline.ingest({ ...reading, type: 'gas.alarm.high', kind: 'alarm', severity: 'critical' });
    await pipeline.committed();
    expect(order).toEqual(['stamped gas.alarm.high', 'alarm written', 'stamped gas.reading']);
  });

  it('drops the oldest waiting reading when the telemetry queue is full, and counts it', async () => {
    const { journal, metrics } = setup();
    const devs = new Map<string, DeviceRef>(
      Array.from({ length: 5 }, (_, i) => [`gas-${i}`, { id: `gas-${i}`, family: 'gas-detector', tags: [] }]),
    );
    const pipeline = new Pipeline({
      site: 's',
      gateway: 'g',
      journal,
      devices: devs,
      metrics,
      log: createLogger('silent'),
      limits: { maxQueuedTelemetry: 3 },
    });
    const seen: string[] = [];
    pipeline.onCommitted((env) => seen.push(env.device.id));
    let full = true;
    pipeline.setDownstream(() => full);
    for (let i = 0; i < 5; i++) pipeline.ingest({ ...reading, deviceId: `gas-${i}` });
    full = false;
    await pipeline.committed();
    expect(seen).toEqual(['gas-2', 'gas-3', 'gas-4']);
    expect(pipeline.shedCount).toBe(2);
    const shed = await metrics.telemetryShed.get();
    expect(shed.values).toEqual([expect.objectContaining({ labels: { family: 'gas-detector' }, value: 2 })]);
  });

  it('an event the device reports late: marked historical, never coalesced with a live reading, never the retained state', async () => {
    const { pipeline, committed } = setup();
    const published: { topic: string; retain: boolean; historical?: boolean }[] = [];
    const bus = new LocalBus({
      publish: (topic, payload, o, done) => {
        published.push({ topic, retain: o.retain, historical: (JSON.parse(String(payload)) as EventEnvelope).historical });
        done();
      },
      log: createLogger('silent'),
    });
    // The devices' state, with a subscriber on the state topics (published live).
    const updates: [string, number][] = [];
    const state = { update: (_family: string, id: string, seq: number) => updates.push([id, seq]) > 0 };
    bridgePipelineToBus(pipeline, bus, 'cg/v1/s/g', state);
    let full = true;
    pipeline.setDownstream(() => full);
    const late = { ...reading, data: { lel: 9 }, historical: true, deviceTime: new Date('2026-11-23T03:10:00Z') };
    pipeline.ingest(reading);
    pipeline.ingest(late);
    full = false;
    await pipeline.committed();
    await bus.idle();
    expect(committed.map((e) => [e.data, e.historical])).toEqual([
      [{ lel: 1 }, undefined],
      [{ lel: 9 }, true],
    ]);
    expect(JSON.stringify(committed[1]).endsWith(',"historical":true}')).toBe(true);
    expect(published).toEqual([
      { topic: 'cg/v1/s/g/events/gas-detector/gas-1/gas.reading', retain: false, historical: undefined },
      { topic: 'cg/v1/s/g/state/gas-detector/gas-1', retain: true, historical: undefined },
      { topic: 'cg/v1/s/g/events/gas-detector/gas-1/gas.reading', retain: false, historical: true },
    ]);
    expect(updates).toEqual([['gas-1', 1]]);
  });
});

describe("pipeline with synchronous FULL: batches commit on the journal's writer thread", () => {
  function setupFull() {
    const path = join(mkdtempSync(join(tmpdir(), 'pipe-full-')), 'j.db');
    const journal = new HeldJournal({ path, synchronous: 'FULL', retention: { maxAgeDays: 1, maxSizeMB: 10 } });
    const pipeline = new Pipeline({
      site: 's',
      gateway: 'g',
      journal,
      devices,
      metrics: createMetrics(),
      log: createLogger('silent'),
      retryMs: 10,
      // Each reading in its own tick's batch: these tests follow the answers between them.
      limits: { telemetryCommitMs: 0 },
    });
    const delivered: string[] = [];
    pipeline.onDelivered((env) => delivered.push(`${env.seq} ${env.type}`));
    return { path, journal, pipeline, delivered };
  }
  const tick = () => new Promise((r) => setImmediate(r));
  const alarm = { ...reading, type: 'gas.alarm.high', kind: 'alarm', severity: 'critical' } as const;
  const stateChange = { ...reading, type: 'gas.fault', kind: 'event', severity: 'major' } as const;

  it('hands events on only once the writer answered (committed and fsynced), in seq order', async () => {
    const { journal, pipeline, delivered } = setupFull();
    pipeline.ingest(reading);
    await tick();
    pipeline.ingest({ ...reading, data: { lel: 3 } });
    await journal.answered(2);
    expect(journal.count()).toBe(2); // committed by the writer ...
    expect(delivered).toEqual([]); // ... and not handed on before its answer
    journal.release();
    expect(delivered).toEqual(['1 gas.reading']);
    journal.release();
    await pipeline.committed();
    expect(delivered).toEqual(['1 gas.reading', '2 gas.reading']);
  });

  it('counts what waits for the writer in its queue depths, telemetry apart, until each batch is answered', async () => {
    const { journal, pipeline } = setupFull();
    pipeline.ingest(reading);
    await tick(); // batch 1: a reading
    pipeline.ingest(alarm);
    pipeline.ingest({ ...reading, data: { lel: 3 } });
    await journal.answered(2); // batch 2: the alarm and a reading
    expect(pipeline.depths).toEqual({ urgent: 1, telemetry: 2 });
    journal.release();
    expect(pipeline.depths).toEqual({ urgent: 1, telemetry: 1 });
    journal.release();
    await pipeline.committed();
    expect(pipeline.depths).toEqual({ urgent: 0, telemetry: 0 });
  });

  it('an alarm is posted right after the callback that ingested it and handed on at once, before its commit; the rest once answered', async () => {
    const { journal, pipeline, delivered } = setupFull();
    pipeline.ingest(reading);
    pipeline.ingest(alarm);
    await Promise.resolve(); // no turn of the event loop
    expect(delivered).toEqual(['2 gas.alarm.high']); // a slow disk does not hold it
    await journal.answered(1);
    journal.release();
    await pipeline.committed();
    expect(delivered).toEqual(['2 gas.alarm.high', '1 gas.reading']); // the alarm once
  });

  it('at shutdown, flush(true) posts everything and the journal commits it before it closes', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'pipe-close-')), 'j.db');
    const journal = new Journal({ path, synchronous: 'NORMAL', retention: { maxAgeDays: 1, maxSizeMB: 10 } });
    const pipeline = new Pipeline({ site: 's', gateway: 'g', journal, devices, metrics: createMetrics(), log: createLogger('silent') });
    const delivered: string[] = [];
    pipeline.onDelivered((env) => delivered.push(`${env.seq} ${env.type}`));
    pipeline.ingest(reading);
    pipeline.ingest(alarm);
    await pipeline.committed();
    for (let i = 0; i < 3; i++) pipeline.ingest(reading);
    pipeline.ingest(alarm);
    pipeline.flush(true);
    await journal.close();
    expect(delivered).toEqual(['2 gas.alarm.high', '1 gas.reading', '6 gas.alarm.high']);
    const again = new Journal({ path, synchronous: 'NORMAL', retention: { maxAgeDays: 1, maxSizeMB: 10 } });
    expect(again.count()).toBe(6);
    await again.close();
  });

  it("a failed fsync on the writer: events go out at once, telemetry waits; all of it goes out, once, when it answers", async () => {
    const { journal, pipeline, delivered } = setupFull();
    pipeline.ingest(reading);
    pipeline.ingest(stateChange);
    await journal.answered(1);
    expect(delivered).toEqual([]); // an event (not an alarm) waits for its answer
    journal.failSync(new Error('EIO: i/o error, fsync'));
    expect(delivered).toEqual(['2 gas.fault']);
    expect(pipeline.pressure).toBe('disk');
    journal.release(); // the writer's retry succeeded
    await pipeline.committed();
    expect(delivered).toEqual(['2 gas.fault', '1 gas.reading']);
    expect(pipeline.pressure).toBe('ok');
  });

  it('a commit the writer refuses (disk full): alarms and events go out at once, everything is posted again until it commits, each once', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'pipe-fail-')), 'j.db');
    const journal = new Journal({ path, synchronous: 'FULL', retention: { maxAgeDays: 1, maxSizeMB: 10 } });
    // A write the writer cannot make until the table exists, as it cannot while the disk is full.
    journal.addTxHook((rows, tx) => tx.run('INSERT INTO later (seq) VALUES (?)', rows[0]!.env.seq));
    const pipeline = new Pipeline({ site: 's', gateway: 'g', journal, devices, metrics: createMetrics(), log: createLogger('silent'), retryMs: 10 });
    const delivered: string[] = [];
    pipeline.onDelivered((env) => delivered.push(`${env.seq} ${env.type}`));
    pipeline.ingest(reading);
    pipeline.ingest(stateChange);
    pipeline.ingest(alarm);
    await waitFor('the refused commit', () => pipeline.pressure === 'disk');
    expect(delivered).toEqual(['3 gas.alarm.high', '2 gas.fault']);
    await new Promise((r) => setTimeout(r, 50)); // retried meanwhile
    expect(journal.count()).toBe(0);
    journal.db.exec('CREATE TABLE later (seq INTEGER)');
    await pipeline.committed();
    expect(pipeline.pressure).toBe('ok');
    expect(delivered).toEqual(['3 gas.alarm.high', '2 gas.fault', '1 gas.reading']);
    expect(journal.db.prepare('SELECT seq FROM events ORDER BY seq').pluck().all()).toEqual([1, 2, 3]);
    await journal.close();
  });

  it('a batch posted before a failed one and answered after it does not clear the disk state', async () => {
    const { journal, pipeline, delivered } = setupFull();
    pipeline.ingest(reading);
    await journal.answered(1);
    let failures = 1;
    journal.addTxHook(() => {
      if (failures-- > 0) throw new Error('SQLITE_FULL: database or disk is full');
    });
    pipeline.ingest(alarm);
    await tick();
    expect(pipeline.pressure).toBe('disk');
    expect(delivered).toEqual(['2 gas.alarm.high']);
    journal.release(); // the reading's answer
    expect(pipeline.pressure).toBe('disk'); // the alarm's batch is still not committed
    await journal.answered(1); // posted again after retryMs
    journal.release();
    await pipeline.committed();
    expect(pipeline.pressure).toBe('ok');
    expect(delivered).toEqual(['2 gas.alarm.high', '1 gas.reading']); // each once
  });

  it('while another connection holds the write lock (a checkpoint ends): the event loop does not wait, an alarm goes out at once, the rest once committed', async () => {
    const { path, journal, pipeline } = setup();
    const delivered: string[] = [];
    pipeline.onDelivered((env) => delivered.push(`${env.seq} ${env.type}`));
    const worker = new Database(path);
    worker.exec('BEGIN IMMEDIATE');
    pipeline.ingest(reading);
    pipeline.ingest(alarm);
    await new Promise((r) => setTimeout(r, 30));
    expect(delivered).toEqual(['2 gas.alarm.high']);
    expect(journal.count()).toBe(0);
    expect(pipeline.pressure).toBe('ok'); // waiting, not failing
    worker.exec('COMMIT');
    await pipeline.committed();
    expect(delivered).toEqual(['2 gas.alarm.high', '1 gas.reading']); // each once
    expect(journal.count()).toBe(2);
    worker.close();
  });
});

/** A journal whose writer's answers the test passes on by hand, in order (and whose fsync it can fail). */
class HeldJournal extends Journal {
  private readonly held: (() => void)[] = [];
  private readonly syncListeners: ((err: Error) => void)[] = [];

  override post(rows: Parameters<Journal['post']>[0], done: (err: Error | null) => void): void {
    super.post(rows, (err) => this.held.push(() => done(err)));
  }

  override onSyncFailed(listener: (err: Error) => void): void {
    this.syncListeners.push(listener);
  }

  /** Resolves once `n` answers are held. */
  async answered(n: number): Promise<void> {
    await waitFor(`${n} answers`, () => this.held.length >= n);
  }

  release(): void {
    this.held.shift()!();
  }

  failSync(err: Error): void {
    for (const l of this.syncListeners) l(err);
  }
}
