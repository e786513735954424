/**
 * The device index: one device's events are found through it whether it has caught up or not,
 * it is filled by the journal's worker thread, follows retention, and is rebuilt when it does not
 * belong to the journal (another journal's index, a journal restored from an older copy).
 */
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { stampEvent } from '../core/envelope.js';
import { waitFor } from '../testing/wait-for.js';
import { INDEX_EVERY, INDEX_PAGE_BYTES, indexFileOf } from './device-index.js';
import { Journal, type JournalRow } from './journal.js';

const DEVICES = 40;

/** Events `from`… of devices `gas-<(seq + shift) % 40>`. */
function rows(from: number, count: number, at = new Date(), shift = 0): JournalRow[] {
  return Array.from({ length: count }, (_, i) => {
    const seq = from + i;
    const deviceId = `gas-${(seq + shift) % DEVICES}`;
    const env = stampEvent(
      { deviceId, type: seq % 7 === 0 ? 'gas.alarm.high' : 'gas.reading', kind: 'event', severity: 'info', data: { n: seq }, receivedAt: at },
      { site: 's', gateway: 'g', seq, device: { id: deviceId, family: 'gas-detector', tags: [] } },
    );
    return { env, json: JSON.stringify(env) };
  });
}

// A chunk of the index every 500 events (10,000 by default): the tests see several chunks.
const open = (path: string, maxAgeDays = 30) => new Journal({ path, synchronous: 'FULL', retention: { maxAgeDays, maxSizeMB: 100 }, indexEvery: 500 });
const tempPath = () => join(mkdtempSync(join(tmpdir(), 'device-index-')), 'gw.db');
const upto = (j: Journal) => (j.db.prepare("SELECT value FROM idx.state WHERE key = 'upto'").get() as { value: number }).value;
const entries = (j: Journal) => (j.db.prepare('SELECT COUNT(*) AS n FROM idx.by_device').get() as { n: number }).n;

/** What a query by device must return: the device's events in seq order, straight from the events table. */
function expectDeviceQueriesRight(j: Journal): void {
  const all = j.query({ limit: 100_000 });
  for (let d = 0; d < DEVICES; d += 7) {
    const id = `gas-${d}`;
    expect(j.query({ device: id, limit: 100_000 }).map((e) => e.seq)).toEqual(all.filter((e) => e.device.id === id).map((e) => e.seq));
  }
}

function appendInBatches(j: Journal, from: number, count: number, at?: Date, shift?: number): void {
  for (let s = from; s < from + count; s += 100) j.append(rows(s, Math.min(100, from + count - s), at, shift));
}

describe('device index', () => {
  it('lives in its own file; the worker fills it behind the appends; queries are right before and after', async () => {
    const path = tempPath();
    const j = open(path);
    expect(existsSync(indexFileOf(path))).toBe(true);
    expect(indexFileOf(path)).toBe(join(path, '..', 'gw.index.db'));
    j.append(rows(1, 50));
    expect(upto(j)).toBe(0); // nothing indexed yet: the 50 events are the tail
    expectDeviceQueriesRight(j);
    appendInBatches(j, 51, 2_950);
    // Asked every 500 events: all but the last few hundred are indexed (those stay the tail).
    await waitFor('the worker to index the events', () => upto(j) >= 2_500, { timeoutMs: 20_000 });
    expect(entries(j)).toBe(upto(j));
    expectDeviceQueriesRight(j);
    j.append(rows(3_001, 30)); // a new tail on top of the index
    expectDeviceQueriesRight(j);
    j.close();
  });

  it(`is filled in chunks of ${INDEX_EVERY} events by default (few large chunks write far less than many small ones)`, async () => {
    const path = tempPath();
    const j = new Journal({ path, synchronous: 'FULL', retention: { maxAgeDays: 30, maxSizeMB: 100 } });
    appendInBatches(j, 1, INDEX_EVERY - 100);
    // Checkpoints were asked for meanwhile; the worker answers in order, so once it has done them all the index is still empty.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(upto(j)).toBe(0);
    expectDeviceQueriesRight(j);
    appendInBatches(j, INDEX_EVERY - 99, 100);
    await waitFor('the first chunk', () => upto(j) === INDEX_EVERY, { timeoutMs: 20_000 });
    expect(entries(j)).toBe(INDEX_EVERY);
    expectDeviceQueriesRight(j);
    await j.close();
  });

  it('follows retention: entries of removed events are dropped', async () => {
    const path = tempPath();
    const j = open(path, 1);
    appendInBatches(j, 1, 1_000, new Date(Date.now() - 3 * 86_400_000)); // older than the retention
    appendInBatches(j, 1_001, 1_000);
    await waitFor('the worker to index every event', () => upto(j) === 2_000, { timeoutMs: 20_000 });
    expect(j.prune()).toBe(1_000);
    await waitFor('the entries of removed events to go', () => entries(j) === 1_000, { timeoutMs: 20_000 });
    expectDeviceQueriesRight(j);
    j.close();
  });

  it("is rebuilt when it is another journal's or the journal went back (restored from an older copy)", async () => {
    const a = tempPath();
    const ja = open(a);
    appendInBatches(ja, 1, 1_000);
    await waitFor('journal A indexed', () => upto(ja) === 1_000, { timeoutMs: 20_000 });
    const older = `${a}.older`;
    ja.db.exec(`VACUUM main INTO '${older}'`); // a copy as of now, in one file (as a backup is)
    await ja.close();

    const b = tempPath();
    const jb = open(b);
    appendInBatches(jb, 1, 600, undefined, 1); // the same seqs as A's, other devices
    await jb.close();
    copyFileSync(indexFileOf(a), indexFileOf(b)); // A's index beside B
    const again = open(b);
    expectDeviceQueriesRight(again); // A's entries are gone at once
    // Rebuilt from B's events at the open, without waiting for new appends.
    await waitFor("B's index rebuilt", () => upto(again) === 600 && entries(again) === 600, { timeoutMs: 20_000 });
    expectDeviceQueriesRight(again);
    again.close();

    const ja2 = open(a);
    appendInBatches(ja2, 1_001, 1_000);
    await waitFor('journal A indexed to 2,000', () => upto(ja2) === 2_000, { timeoutMs: 20_000 });
    await ja2.close();
    // Restored as `gateway restore` does: the database's WAL and shared-memory files go with the old one.
    for (const suffix of ['-wal', '-shm']) rmSync(a + suffix, { force: true });
    copyFileSync(older, a); // back to 1,000 events; the index says 2,000
    const restored = open(a);
    expectDeviceQueriesRight(restored);
    await waitFor('the index rebuilt from the 1,000 events', () => upto(restored) === 1_000 && entries(restored) === 1_000, {
      timeoutMs: 20_000,
    });
    expectDeviceQueriesRight(restored);
    restored.close();
  });

  it(`has ${INDEX_PAGE_BYTES}-byte pages (each chunk writes a quarter of what 4 KiB pages did); an earlier release's 4 KiB file is kept and still answers`, async () => {
    const path = tempPath();
    const j = open(path);
    expect(j.db.pragma('idx.page_size', { simple: true })).toBe(INDEX_PAGE_BYTES);
    await j.close();

    const older = tempPath();
    const made = new Database(indexFileOf(older)); // as an earlier release made it: SQLite's default pages
    made.pragma('journal_mode = WAL');
    made.exec('CREATE TABLE by_device (device_id TEXT NOT NULL, seq INTEGER NOT NULL, type TEXT NOT NULL, PRIMARY KEY (device_id, seq)) WITHOUT ROWID');
    made.close();
    const kept = open(older);
    expect(kept.db.pragma('idx.page_size', { simple: true })).toBe(4096);
    appendInBatches(kept, 1, 1_000);
    await waitFor('the worker to index the events', () => upto(kept) >= 500, { timeoutMs: 20_000 });
    expectDeviceQueriesRight(kept);
    await kept.close();
  });

  it('an in-memory journal (no worker) indexes on its own connection, in small chunks (a large one would hold the event loop)', () => {
    const j = new Journal({ path: ':memory:', synchronous: 'NORMAL', retention: { maxAgeDays: 30, maxSizeMB: 100 } });
    j.append(rows(1, 600));
    expect(upto(j)).toBe(600);
    expectDeviceQueriesRight(j);
    j.close();
  });
});
