/**
 * The journal's writer: a worker thread with its own connection that commits the appends, so the
 * event loop never runs an insert, a commit or an fsync of the journal.
 *
 * A batch is posted as data: its writes recorded by a `WriteRecorder` (tx-writer.ts), the events'
 * and what the transaction hooks add (outbox rows, alarm state). The thread commits the batches
 * that wait when it comes to them in one transaction (batches grow with the load), then fsyncs
 * the WAL file outside the write lock (`synchronous: FULL`'s guarantee, sqlite.org/wal.html: the
 * commit survives power loss once its WAL frames are synced), then answers. Answers come in the
 * order of the batches. Commits start at least `minCommitIntervalMs` apart: what is posted sooner
 * after a commit waits for the next one (after a quiet spell a batch commits at once).
 *
 * A failed commit (disk full, I/O error) writes nothing of its batches, and the thread refuses
 * every batch after them until told to resume: the caller posts them again, in order, after the
 * failure. A failed fsync leaves the batches committed: the thread retries it every second and
 * answers once it succeeds.
 *
 * The thread is plain CommonJS evaluated from a string, so it runs the same under tsx, vitest
 * and compiled JS.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { LOWER_PRIORITY, THREAD_HEAP } from './journal-worker.js';
import type { SqlValue, WriteRecorder } from './tx-writer.js';

const THREAD = `
const { parentPort, workerData, receiveMessageOnPort } = require('node:worker_threads');
${LOWER_PRIORITY}
const { fsyncSync, openSync } = require('node:fs');
const Database = require(workerData.lib);
const db = new Database(workerData.path);
db.pragma('busy_timeout = ' + workerData.busyMs);
// The commit writes the WAL frames; their fsync follows, outside the write lock.
db.pragma('synchronous = NORMAL');
db.pragma('cache_size = -' + workerData.cacheKiB);
db.pragma('wal_autocheckpoint = ' + workerData.autocheckpointPages);
// Prepared at their first use (one that fails, e.g. a table not there yet, is tried again the next time).
const statements = [];
const prepared = [];
const apply = db.transaction((batches) => {
  for (const { ops } of batches) {
    for (let i = 0; i < ops.length; ) {
      const n = ops[i + 1];
      const id = ops[i];
      (prepared[id] ??= db.prepare(statements[id])).run(...ops.slice(i + 2, i + 2 + n));
      i += 2 + n;
    }
  }
});
let failedAt = 0;
let unsynced = 0;
let retry;
let walFd;
function durable(upTo) {
  try {
    if (workerData.fsync) fsyncSync((walFd ??= openSync(workerData.path + '-wal', 'r')));
  } catch (err) {
    if (!unsynced) parentPort.postMessage({ syncError: String(err && err.message || err) });
    unsynced = upTo;
    retry ??= setTimeout(() => {
      retry = undefined;
      if (unsynced) durable(unsynced);
    }, 1000);
    return;
  }
  unsynced = 0;
  parentPort.postMessage({ upTo });
}
function commit(batches) {
  if (!batches.length) return;
  const upTo = batches[batches.length - 1].id;
  try {
    apply.immediate(batches);
  } catch (err) {
    failedAt = batches[0].id;
    parentPort.postMessage({ upTo, error: String(err && err.message || err), code: err && err.code });
    return;
  }
  durable(upTo);
}
const pending = [];
let lastCommitAt = -Infinity;
let paced;
function commitPending() {
  paced = undefined;
  lastCommitAt = performance.now();
  commit(pending.splice(0));
}
parentPort.on('message', (first) => {
  for (let m = first; m !== undefined; m = receiveMessageOnPort(parentPort)?.message) {
    if (m === 'close') {
      clearTimeout(paced);
      commit(pending.splice(0));
      clearTimeout(retry);
      db.close();
      parentPort.close();
      return;
    }
    if (m.resume !== undefined) {
      commit(pending.splice(0));
      if (m.resume >= failedAt) failedAt = 0;
      continue;
    }
    statements.push(...m.add);
    if (failedAt) parentPort.postMessage({ upTo: m.id, error: 'not written: an earlier batch failed' });
    else pending.push(m);
  }
  if (paced || !pending.length) return;
  const wait = lastCommitAt + workerData.minCommitIntervalMs - performance.now();
  if (wait > 0) paced = setTimeout(commitPending, wait);
  else commitPending();
});
`;

/**
 * Time between the starts of two commits of the writer thread at least, in ms. Each commit
 * rewrites the pages it touches (the right-hand edges of the tables and indexes) in the WAL and
 * fsyncs it: at 20,000 events/s the writer committed about 700 times a second, about one 4 KiB
 * page per event. At most 250 commits a second (as PostgreSQL's `commit_delay` trades a little
 * latency for fewer syncs), the writer, the worker reading the WAL back and the event loop taking
 * the answers each used less CPU per event (docs/BENCHMARKS.md). An alarm is on the local bus
 * before its commit; what waits for durability (events on the bus, the uplink) waits up to 4 ms
 * more, and only while commits follow each other that closely.
 */
export const MIN_COMMIT_INTERVAL_MS = 4;

/** A batch's answer when the thread ended before it answered (committed or not: the journal checks). */
export class AppendThreadEnded extends Error {}

export interface AppendThreadOptions {
  path: string;
  /** Fsync the WAL after each commit (`synchronous: FULL`). */
  fsync: boolean;
  busyMs: number;
  cacheKiB: number;
  autocheckpointPages: number;
  /** Time between the starts of two commits at least, in ms (default `MIN_COMMIT_INTERVAL_MS`; 0: whenever a batch waits). */
  minCommitIntervalMs?: number;
}

export class AppendThread {
  private readonly worker: Worker;
  private nextId = 1;
  private readonly waiting: { id: number; done: (err: Error | null) => void }[] = [];
  private statementsSent = 0;
  /** The highest batch a failure answered, and the highest the thread was told to resume after. */
  private failedUpTo = 0;
  private resumedAfter = 0;
  private closed = false;
  private commitCount = 0;

  constructor(
    o: AppendThreadOptions,
    private readonly recorder: WriteRecorder,
    events: { syncFailed(err: Error): void; ended(): void },
  ) {
    const lib = createRequire(import.meta.url).resolve('better-sqlite3');
    // No execArgv: the gateway's loader flags (tsx) would cost the thread memory and it needs none.
    this.worker = new Worker(THREAD, { eval: true, execArgv: [], resourceLimits: THREAD_HEAP, workerData: { lib, ...o, minCommitIntervalMs: o.minCommitIntervalMs ?? MIN_COMMIT_INTERVAL_MS } });
    this.worker.unref();
    this.worker.on('message', (m: { upTo?: number; error?: string; code?: string; syncError?: string }) => {
      if (this.closed) return;
      if (m.syncError !== undefined) return events.syncFailed(new Error(m.syncError));
      const err = m.error === undefined ? null : Object.assign(new Error(m.error), { code: m.code });
      if (err) this.failedUpTo = Math.max(this.failedUpTo, m.upTo!);
      else this.commitCount++;
      while (this.waiting.length && this.waiting[0]!.id <= m.upTo!) this.waiting.shift()!.done(err);
    });
    this.worker.on('error', () => {}); // answered below, by the exit
    this.worker.once('exit', () => {
      if (this.closed) return;
      this.closed = true;
      for (const w of this.waiting.splice(0)) w.done(new AppendThreadEnded('the journal writer thread ended'));
      events.ended();
    });
  }

  /** Commits answered so far (each one transaction and, with `fsync`, one fsync of the WAL). */
  get commits(): number {
    return this.commitCount;
  }

  /** Posts a batch's writes; `done` is called once they are committed and synced, or with why not. */
  post(ops: SqlValue[], done: (err: Error | null) => void): void {
    if (this.failedUpTo > this.resumedAfter) {
      this.resumedAfter = this.failedUpTo;
      this.worker.postMessage({ resume: this.failedUpTo });
    }
    const add = this.recorder.statements.slice(this.statementsSent);
    this.statementsSent = this.recorder.statements.length;
    const id = this.nextId++;
    this.waiting.push({ id, done });
    this.worker.postMessage({ id, add, ops });
  }

  /**
   * Commits what was posted, then ends the thread; resolves when it ended (its connection
   * closed). Answers that come meanwhile are not passed on.
   */
  close(): Promise<void> {
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.closed = true;
    // The process waits for the thread's last commits (it may have nothing else left to do).
    this.worker.ref();
    this.worker.postMessage('close');
    return exited;
  }
}
