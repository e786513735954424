import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type EventEnvelope, stampEvent } from '../core/envelope.js';
import Database from 'better-sqlite3';
import { Journal, type JournalRow, PAGE_CACHE_KIB } from './journal.js';
import { runCli } from '../testing/run-cli.js';
import { waitFor } from '../testing/wait-for.js';

function row(seq: number, deviceId: string, type: string, receivedAt: Date): JournalRow {
  const env = stampEvent(
    { deviceId, type, kind: 'event', severity: 'info', data: { n: seq, pad: 'x'.repeat(200) }, receivedAt },
    { site: 's', gateway: 'g', seq, device: { id: deviceId, family: 'gas-detector', tags: [] } },
  );
  return { env, json: JSON.stringify(env) };
}

function open(retention = { maxAgeDays: 30, maxSizeMB: 100 }) {
  const path = join(mkdtempSync(join(tmpdir(), 'journal-')), 'j.db');
  return { path, journal: new Journal({ path, synchronous: 'FULL', retention }) };
}

describe('journal', () => {
  it('bounds its SQLite page caches (the journal and the device index attached to it)', () => {
    const { journal } = open();
    expect(journal.db.pragma('main.cache_size', { simple: true })).toBe(-PAGE_CACHE_KIB.journal);
    expect(journal.db.pragma('idx.cache_size', { simple: true })).toBe(-PAGE_CACHE_KIB.other);
    journal.close();
  });

  it('stores batches and answers queries by device, type prefix and time', () => {
    const { journal } = open();
    const t0 = new Date('2026-11-23T08:00:00Z');
    journal.append([
      row(1, 'a', 'gas.reading', t0),
      row(2, 'b', 'gas.alarm.high', new Date(t0.getTime() + 60_000)),
    ]);
    journal.append([row(3, 'a', 'gas.alarm.low', new Date(t0.getTime() + 120_000))]);
    expect(journal.query().map((e) => e.seq)).toEqual([1, 2, 3]);
    // The first or the last that match, in seq order either way.
    expect(journal.query({ limit: 2 }).map((e) => e.seq)).toEqual([1, 2]);
    expect(journal.query({ limit: 2, newest: true }).map((e) => e.seq)).toEqual([2, 3]);
    expect(journal.query({ device: 'a', limit: 1, newest: true }).map((e) => e.seq)).toEqual([3]);
    expect(journal.query({ device: 'a' }).map((e) => e.seq)).toEqual([1, 3]);
    expect(journal.query({ type: 'gas.alarm' }).map((e) => e.seq)).toEqual([2, 3]);
    expect(journal.query({ type: 'gas.alarm.low' }).map((e) => e.seq)).toEqual([3]);
    expect(journal.query({ since: new Date(t0.getTime() + 60_000) }).map((e) => e.seq)).toEqual([2, 3]);
    const e: EventEnvelope = journal.query({ afterSeq: 2 })[0]!;
    expect(e.data).toMatchObject({ n: 3 });
    journal.close();
  });

  it('bodies: the envelope JSON of the seqs asked for, across chunks; a seq not in the journal is absent', () => {
    const { journal } = open();
    const t0 = new Date('2026-11-23T08:00:00Z');
    const rows = Array.from({ length: 1_203 }, (_, i) => row(i + 1, `d${i % 7}`, 'gas.reading', t0));
    journal.append(rows);
    const wanted = [1_203, 2, 9_999, ...Array.from({ length: 1_100 }, (_, i) => i + 50)];
    const bodies = journal.bodies(wanted);
    expect(bodies.size).toBe(1_102);
    expect(bodies.has(9_999)).toBe(false);
    for (const seq of [1_203, 2, 50, 600, 1_149]) expect(bodies.get(seq)).toBe(rows[seq - 1]!.json);
    expect(journal.bodies([]).size).toBe(0);
    journal.close();
  });

  it('durableSeq: moves on when the writer thread answers a post (committed and fsynced), at once for an append; kept across a reopen', async () => {
    const { path, journal } = open();
    const moves: number[] = [];
    journal.onDurable(() => moves.push(journal.durableSeq));
    const now = new Date();
    const answered = new Promise<Error | null>((resolve) => journal.post([row(1, 'a', 'x', now), row(2, 'a', 'x', now)], resolve));
    expect(journal.durableSeq).toBe(0); // posted: committed on the writer thread, not here
    expect(await answered).toBeNull();
    expect(moves).toEqual([2]);
    expect(journal.count()).toBe(2);
    journal.append([row(3, 'a', 'x', now)]);
    expect(moves).toEqual([2, 3]);
    await journal.close();
    const again = new Journal({ path, synchronous: 'NORMAL', retention: { maxAgeDays: 30, maxSizeMB: 100 } });
    expect(again.durableSeq).toBe(3);
    again.append([row(4, 'a', 'x', now)]);
    expect(again.durableSeq).toBe(4);
    await again.close();
  });

  it('WAL checkpoints and the WAL starting over run on their own connection, off the event loop, once the journal grows', async () => {
    const { path, journal } = open();
    // The WAL file's header (sqlite.org/fileformat2.html#walformat): a new salt each time it starts over.
    const salt = () => readFileSync(`${path}-wal`).subarray(16, 24).toString('hex');
    const frames = () => readFileSync(`${path}-shm`).readUInt32LE(16); // mxFrame, from the WAL index
    const now = new Date();
    journal.append(Array.from({ length: 1_000 }, (_, i) => row(i + 1, 'a', 'x', now))); // asks for a checkpoint
    const before = salt();
    expect(frames()).toBeGreaterThan(100);
    // SQLite's own automatic checkpoint (on this connection, in an append) now waits for thousands of pages.
    expect(journal.db.pragma('wal_autocheckpoint', { simple: true })).toBeGreaterThan(1_000);
    // No append on this connection meanwhile: the worker copied the WAL and made the write that starts it over.
    await waitFor('the worker to start the WAL over', () => salt() !== before);
    expect(frames()).toBeLessThan(10);
    const at = journal.db.prepare("SELECT value FROM meta WHERE key = 'checkpointed_at'").get() as { value: number };
    expect(Math.abs(at.value - Date.now())).toBeLessThan(60_000);
    expect(journal.count()).toBe(1_000);
    journal.close();
  });

  it("posts: the hooks' writes commit with the events on the writer thread, answered in order; the event loop never waits for its lock", async () => {
    const { path, journal } = open();
    journal.db.exec('CREATE TABLE seen (seq INTEGER)');
    journal.addTxHook((rows, tx) => {
      for (const { env } of rows) tx.run('INSERT INTO seen (seq) VALUES (?)', env.seq);
    });
    const other = new Database(path);
    other.exec('BEGIN IMMEDIATE'); // as a checkpoint's end holds it
    const now = new Date();
    const answers: string[] = [];
    journal.post([row(1, 'a', 'x', now)], (err) => answers.push(`1 ${err}`));
    journal.post([row(2, 'a', 'x', now), row(3, 'a', 'x', now)], (err) => answers.push(`2-3 ${err}`));
    await new Promise((r) => setTimeout(r, 50)); // the event loop turns meanwhile
    expect(answers).toEqual([]);
    expect(journal.count()).toBe(0);
    other.exec('COMMIT');
    await waitFor('the answers', () => answers.length === 2);
    expect(answers).toEqual(['1 null', '2-3 null']);
    expect(journal.db.prepare('SELECT seq FROM seen ORDER BY seq').pluck().all()).toEqual([1, 2, 3]);
    expect(journal.lastSeq()).toBe(3);
    other.close();
    await journal.close();
  });

  it('a commit that fails on the writer thread writes nothing of its batch nor of those posted after it; posted again, they commit in order', async () => {
    const { path, journal } = open();
    let broken = false; // a transaction that writes to a table that does not exist yet
    journal.addTxHook((rows, tx) => {
      if (broken) tx.run('INSERT INTO later (seq) VALUES (?)', rows[0]!.env.seq);
    });
    const now = new Date();
    const post = (seqs: number[]) =>
      new Promise<Error | null>((resolve) => journal.post(seqs.map((n) => row(n, 'a', 'x', now)), resolve));
    expect(await post([1])).toBeNull();
    const other = new Database(path);
    other.exec('BEGIN IMMEDIATE'); // the writer waits for it with the failing batch in hand ...
    broken = true;
    const failing = post([2]);
    broken = false;
    await new Promise((r) => setTimeout(r, 50));
    const after = post([3]); // ... and gets this one after it
    other.exec('COMMIT');
    expect(String(await failing)).toMatch(/no such table: later/);
    expect(String(await after)).toMatch(/an earlier batch failed/);
    expect(journal.count()).toBe(1);
    journal.db.exec('CREATE TABLE later (seq INTEGER)');
    broken = true;
    const again = post([2]);
    broken = false;
    expect(await again).toBeNull();
    expect(await post([3])).toBeNull();
    expect(journal.db.prepare('SELECT seq FROM events ORDER BY seq').pluck().all()).toEqual([1, 2, 3]);
    expect(journal.db.prepare('SELECT seq FROM later').pluck().all()).toEqual([2]);
    other.close();
    await journal.close();
  });

  it("close commits what was posted before the process ends, even when nothing else keeps it running", async () => {
    const { path, journal } = open();
    await journal.close();
    // A process that posts, closes and has nothing else to do (as a gateway stopping).
    const script = `
      import { stampEvent } from ${JSON.stringify(new URL('../core/envelope.ts', import.meta.url).pathname)};
      import { Journal } from ${JSON.stringify(new URL('./journal.ts', import.meta.url).pathname)};
      const j = new Journal({ path: ${JSON.stringify(path)}, synchronous: 'FULL', retention: { maxAgeDays: 30, maxSizeMB: 100 } });
      const device = { id: 'a', family: 'gas-detector', tags: [] };
      for (let seq = 1; seq <= 2000; seq++) {
        const env = stampEvent({ deviceId: 'a', type: 'x', kind: 'event', severity: 'info', data: { seq } }, { site: 's', gateway: 'g', seq, device });
        j.post([{ env, json: JSON.stringify(env) }], () => {});
      }
      await j.close();
      console.log('closed');
    `;
    const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect([run.status, run.stdout.trim()]).toEqual([0, 'closed']);
    const again = new Journal({ path, synchronous: 'FULL', retention: { maxAgeDays: 30, maxSizeMB: 100 } });
    expect([again.count(), again.lastSeq()]).toEqual([2000, 2000]);
    await again.close();
  });

  it('`gateway events`: the newest events without --since, the first from that time with it, and says when there are more', async () => {
    const { path, journal } = open();
    const t0 = Date.now() - 3_600_000; // an hour ago, a minute apart
    journal.append(Array.from({ length: 60 }, (_, i) => row(i + 1, i % 2 ? 'b' : 'a', 'gas.reading', new Date(t0 + i * 60_000))));
    journal.close();
    const site = join(dirname(path), 'site.yaml');
    writeFileSync(site, `site: { id: s }\ngateway: { id: g }\njournal: { path: ${path} }\n`);
    const cli = (...args: string[]) => runCli(['events', '--config', site, ...args]);
    const events = async (...args: string[]) => {
      const r = await cli('--json', ...args);
      expect(r.code, r.stderr).toBe(0);
      return r.stdout.trim().split('\n').map((l) => (JSON.parse(l) as EventEnvelope).seq);
    };
    expect(await events('--limit', '3')).toEqual([58, 59, 60]);
    expect(await events('--limit', '2', '--device', 'a')).toEqual([57, 59]);
    expect(await events('--limit', '3', '--since', new Date(t0 + 30 * 60_000).toISOString())).toEqual([31, 32, 33]);
    const text = await cli('--limit', '5');
    expect(text.stdout.trim().split('\n')).toHaveLength(5);
    expect(text.stderr).toContain('5 events: the newest 5, --limit N or --since for more');
    expect((await cli('--limit', '60')).stderr).toMatch(/^60 events\n$/); // all of them: nothing more to say
  });

  it('a hook that throws while a batch is posted: post throws, nothing is posted', async () => {
    const { journal } = open();
    let fail = true;
    journal.addTxHook(() => {
      if (fail) throw new Error('hook failed');
    });
    const now = new Date();
    expect(() => journal.post([row(1, 'a', 'x', now)], () => {})).toThrow('hook failed');
    fail = false;
    expect(await new Promise((resolve) => journal.post([row(1, 'a', 'x', now)], resolve))).toBeNull();
    expect(journal.count()).toBe(1);
    await journal.close();
  });

  it('the writer thread ending: a batch it left unanswered is reported by what the journal holds; later posts commit on this connection', async () => {
    const { journal } = open();
    const now = new Date();
    expect(await new Promise((resolve) => journal.post([row(1, 'a', 'x', now)], resolve))).toBeNull();
    const answer = new Promise<Error | null>((resolve) => journal.post([row(2, 'a', 'x', now)], resolve));
    await (journal as unknown as { writer: { worker: { terminate(): Promise<number> } } }).writer.worker.terminate();
    const err = await answer;
    // Committed before the thread ended, or not: the answer says which.
    expect(err === null).toBe(journal.lastSeq() === 2);
    const next = err ? [row(2, 'a', 'x', now), row(3, 'a', 'x', now)] : [row(3, 'a', 'x', now)];
    expect(await new Promise((resolve) => journal.post(next, resolve))).toBeNull();
    expect(journal.db.prepare('SELECT seq FROM events ORDER BY seq').pluck().all()).toEqual([1, 2, 3]);
    await journal.close();
  });

  it('a batch is all or nothing: a duplicate sequence number rolls back the whole batch', () => {
    const { journal } = open();
    const now = new Date();
    journal.append([row(1, 'a', 'x', now)]);
    expect(() => journal.append([row(2, 'a', 'x', now), row(1, 'a', 'x', now)])).toThrow();
    expect(journal.count()).toBe(1);
    expect(journal.lastSeq()).toBe(1);
    journal.close();
  });

  it('keeps the last sequence number across reopen and after retention deleted everything', () => {
    const { path, journal } = open({ maxAgeDays: 1, maxSizeMB: 100 });
    const old = new Date(Date.now() - 3 * 86_400_000);
    journal.append([row(1, 'a', 'x', old), row(2, 'a', 'x', old)]);
    expect(journal.prune()).toBe(2);
    expect(journal.count()).toBe(0);
    journal.close();
    const again = new Journal({ path, synchronous: 'FULL', retention: { maxAgeDays: 1, maxSizeMB: 100 } });
    expect(again.lastSeq()).toBe(2);
    again.close();
  });

  it('retention by size deletes the oldest events until the file fits', () => {
    const { journal } = open({ maxAgeDays: 30, maxSizeMB: 1 });
    const now = new Date();
    let seq = 0;
    for (let b = 0; b < 20; b++) journal.append(Array.from({ length: 500 }, () => row(++seq, 'a', 'x', now)));
    expect(journal.sizeBytes()).toBeGreaterThan(1024 * 1024);
    const deleted = journal.prune();
    expect(deleted).toBeGreaterThan(0);
    expect(journal.sizeBytes()).toBeLessThanOrEqual(1024 * 1024);
    const left = journal.query({ limit: 100_000 }).map((e) => e.seq);
    expect(left[left.length - 1]).toBe(seq); // the newest survive
    expect(left[0]).toBe(deleted + 1); // the oldest went first
    journal.close();
  });
});
