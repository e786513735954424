/**
 * The journal's writer thread: commits start at least `minCommitIntervalMs` apart, and what is
 * posted meanwhile shares the next commit; after a quiet spell a batch commits at once.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { AppendThread } from './append-thread.js';
import { WriteRecorder } from './tx-writer.js';

const threads: AppendThread[] = [];
afterEach(async () => {
  for (const t of threads.splice(0)) await t.close();
});

function start(minCommitIntervalMs: number) {
  const path = join(mkdtempSync(join(tmpdir(), 'append-thread-')), 'j.db');
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE t (n INTEGER PRIMARY KEY)');
  db.close();
  const recorder = new WriteRecorder();
  const thread = new AppendThread(
    { path, fsync: true, busyMs: 5_000, cacheKiB: 1_024, autocheckpointPages: 1_000, minCommitIntervalMs },
    recorder,
    { syncFailed: () => {}, ended: () => {} },
  );
  threads.push(thread);
  /** Posts one row; resolves with the commits answered when its own answer came. */
  const post = (n: number) => {
    recorder.run('INSERT INTO t (n) VALUES (?)', n);
    return new Promise<number>((resolve, reject) =>
      thread.post(recorder.take(), (err) => (err ? reject(err) : resolve(thread.commits))),
    );
  };
  const rows = () => {
    const read = new Database(path, { readonly: true });
    try {
      return (read.prepare('SELECT n FROM t ORDER BY n').all() as { n: number }[]).map((r) => r.n);
    } finally {
      read.close();
    }
  };
  return { thread, post, rows };
}

describe('AppendThread', () => {
  it('batches posted soon after a commit wait for the next one and share it; the first commits at once', async () => {
    const { thread, post, rows } = start(1_000);
    expect(await post(1)).toBe(1); // nothing committed before: at once
    const later: Promise<number>[] = [];
    for (let n = 2; n <= 5; n++) {
      later.push(post(n));
      await nextTurn(); // each in a turn of its own: the thread sees them one by one
    }
    // answered by the one commit that started once the interval had passed
    expect(await Promise.all(later)).toEqual([2, 2, 2, 2]);
    expect(thread.commits).toBe(2);
    expect(rows()).toEqual([1, 2, 3, 4, 5]);
  });

  it('with no interval, a batch posted after the answer to the one before is a commit of its own', async () => {
    const { thread, post, rows } = start(0);
    for (let n = 1; n <= 4; n++) expect(await post(n)).toBe(n);
    expect(thread.commits).toBe(4);
    expect(rows()).toEqual([1, 2, 3, 4]);
  });
});
