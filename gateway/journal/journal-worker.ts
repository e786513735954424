/**
 * The journal's background work, off the event loop, on a worker thread with its own connection:
 * - the device index (device-index.ts): the events appended since its last chunk, in chunks;
 * - WAL checkpoints (sqlite.org/wal.html#ckpt): `PRAGMA wal_checkpoint(PASSIVE)` copies the WAL
 *   into the database file and syncs it (tens of ms on a busy disk); run by SQLite's automatic
 *   checkpoint it would happen inside an append, on the event loop. PASSIVE never waits for the
 *   writer: appends go on meanwhile. Under steady appends it never quite catches up, so once the
 *   WAL holds `fullAtPages` the worker runs a FULL checkpoint, which holds the write lock while
 *   it copies the rest (the journal's appends find it busy and retry, see journal.ts).
 * - the WAL's restart: once a checkpoint copied everything, the next write starts the WAL over
 *   and SQLite syncs its new header before reusing the file (wal.c). The worker makes that
 *   write itself (the checkpoint's time in `meta`), so the sync waits on this thread, not in an
 *   append on the event loop.
 *
 * The worker is plain CommonJS evaluated from a string, so it runs the same under tsx, vitest and
 * compiled JS; its SQL comes from device-index.ts. If it cannot start, the journal does this work
 * on its own connection again (`onFailure`).
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { CHUNK_SQL } from './device-index.js';

/**
 * For the journal's threads (this worker and the writer, append-thread.ts): a small V8 heap each
 * (their garbage is short-lived: a batch's rows; V8's default young generation alone would hold
 * tens of MB), and a lower CPU priority than the event loop (nice 10: on Linux a thread's own,
 * set through its id), so that on a busy machine the event loop, which hands alarms on, runs first.
 */
export const THREAD_HEAP = { maxYoungGenerationSizeMb: 4, maxOldGenerationSizeMb: 64 };
export const LOWER_PRIORITY =
  "try { require('node:os').setPriority(Number(require('node:fs').readlinkSync('/proc/thread-self').split('/').pop()), 10); } catch {}";

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
${LOWER_PRIORITY}
const Database = require(workerData.lib);
const db = new Database(workerData.path);
db.pragma('busy_timeout = 1000');
// Its one write to the journal needs no fsync of its own (the appends' fsyncs cover it); checkpoints sync anyway.
db.pragma('synchronous = NORMAL');
db.pragma('cache_size = -' + workerData.cacheKiB);
db.prepare('ATTACH DATABASE ? AS idx').run(workerData.index);
db.pragma('idx.synchronous = OFF');
db.pragma('idx.cache_size = -' + workerData.cacheKiB);
const sql = workerData.sql;
const next = db.prepare(sql.next);
const insert = db.prepare(sql.insert);
const upto = db.prepare(sql.upto);
const prune = db.prepare(sql.prune);
const chunk = db.transaction((from, last) => {
  insert.run(from, last);
  upto.run(last);
});
const passive = db.prepare('PRAGMA main.wal_checkpoint(PASSIVE)');
const full = db.prepare('PRAGMA main.wal_checkpoint(FULL)');
const restart = db.prepare(
  "INSERT INTO main.meta (key, value) VALUES ('checkpointed_at', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
);
function checkpoint() {
  let r = passive.get();
  if (r.log >= workerData.fullAtPages) r = full.get();
  if (r.busy === 0 && r.log > 0 && r.checkpointed === r.log) restart.run(Date.now());
}
parentPort.on('message', (m) => {
  if (m === 'close') {
    db.close();
    parentPort.close();
    return;
  }
  try {
    if (m === 'prune') prune.run();
    if (m !== 'checkpoint') for (let r = next.get(); r.last > r.upto; r = next.get()) chunk(r.upto, r.last);
    checkpoint();
  } catch {
    // Disk full or I/O error: the next request tries again (the index tail and the WAL wait).
  }
});
`;

export class JournalWorker {
  private readonly worker: Worker;

  constructor(
    o: { path: string; index: string; fullAtPages: number; cacheKiB: number },
    onFailure: (err: Error) => void,
  ) {
    const lib = createRequire(import.meta.url).resolve('better-sqlite3');
    // No execArgv: the gateway's loader flags (tsx) would cost the worker memory and it needs none.
    this.worker = new Worker(WORKER, { eval: true, execArgv: [], resourceLimits: THREAD_HEAP, workerData: { lib, ...o, sql: CHUNK_SQL } });
    this.worker.unref();
    this.worker.once('error', onFailure);
  }

  /** Asks for the device index to catch up, then a checkpoint (the worker runs requests one after the other). */
  request(): void {
    this.worker.postMessage('work');
  }

  /** A checkpoint only. */
  checkpoint(): void {
    this.worker.postMessage('checkpoint');
  }

  /** As `request`, after dropping the index entries of events retention removed. */
  prune(): void {
    this.worker.postMessage('prune');
  }

  /** Resolves when the thread ended (its connection closed). */
  close(): Promise<void> {
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.ref(); // the process waits for it
    this.worker.postMessage('close');
    return exited;
  }
}
