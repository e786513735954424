import { describe, expect, it } from 'vitest';
import type { EventEnvelope } from '../core/envelope.js';
import type { JournalRow } from '../journal/journal.js';
import { FsyncQueue } from './fsync-queue.js';

/** A journal whose fsyncs return when the test says. */
function heldJournal() {
  const waiting: ((err: Error | null) => void)[] = [];
  let syncNowError: Error | undefined;
  return {
    waiting,
    failSyncNow: (err: Error | undefined) => (syncNowError = err),
    sync: (done: (err: Error | null) => void) => void waiting.push(done),
    syncNow: () => {
      if (syncNowError) throw syncNowError;
    },
  };
}
const row = (seq: number): JournalRow => ({ env: { seq } as EventEnvelope, json: `{"seq":${seq}}` });

function setup() {
  const journal = heldJournal();
  const durable: number[] = [];
  const failed: string[] = [];
  const q = new FsyncQueue(journal, {
    durable: (rows) => durable.push(...rows.map((r) => r.env.seq)),
    failed: (err) => failed.push(String(err)),
  });
  return { journal, q, durable, failed };
}

describe('FsyncQueue', () => {
  it('one fsync at a time; what was committed meanwhile waits for the next, which starts when the first returns', () => {
    const { journal, q, durable } = setup();
    q.add([row(1)]);
    q.start();
    q.add([row(2), row(3)]);
    q.start();
    expect(journal.waiting).toHaveLength(1);
    journal.waiting.shift()!(null);
    expect(durable).toEqual([1]);
    expect(journal.waiting).toHaveLength(1); // started for 2 and 3
    journal.waiting.shift()!(null);
    expect(durable).toEqual([1, 2, 3]);
    expect(q.rows).toHaveLength(0);
  });

  it('urgent: a second fsync beside the one in flight, never a third', () => {
    const { journal, q, durable } = setup();
    q.add([row(1)]);
    q.start();
    q.add([row(2)]);
    q.start(true);
    q.add([row(3)]);
    q.start(true);
    expect(journal.waiting).toHaveLength(2);
    journal.waiting.pop()!(null); // the second covers 1 and 2
    expect(durable).toEqual([1, 2]);
    expect(journal.waiting).toHaveLength(2); // the one for 3 started in its place
    journal.waiting.shift()!(null); // the first: nothing left to hand on
    expect(durable).toEqual([1, 2]);
    journal.waiting.shift()!(null);
    expect(durable).toEqual([1, 2, 3]);
  });

  it('a failed fsync: the rows wait, and the next start covers them again', () => {
    const { journal, q, durable, failed } = setup();
    q.add([row(1), row(2)]);
    q.start();
    journal.waiting.shift()!(new Error('EIO: i/o error, fsync'));
    expect(failed).toEqual(['Error: EIO: i/o error, fsync']);
    expect(durable).toEqual([]);
    expect(q.rows.map((r) => r.env.seq)).toEqual([1, 2]);
    q.start();
    journal.waiting.shift()!(null);
    expect(durable).toEqual([1, 2]);
  });

  it('syncNow makes everything durable at once; a refusal keeps the rows', () => {
    const { journal, q, durable, failed } = setup();
    q.add([row(1)]);
    q.start();
    q.add([row(2)]);
    journal.failSyncNow(new Error('ENOSPC'));
    q.syncNow();
    expect(failed).toEqual(['Error: ENOSPC']);
    expect(q.rows).toHaveLength(2);
    journal.failSyncNow(undefined);
    q.syncNow();
    expect(durable).toEqual([1, 2]);
    journal.waiting.shift()!(null); // the fsync started before: nothing twice
    expect(durable).toEqual([1, 2]);
  });
});
