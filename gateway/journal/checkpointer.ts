/**
 * WAL checkpoints off the event loop (sqlite.org/wal.html#ckpt): a worker thread with its own
 * connection to the journal runs `PRAGMA wal_checkpoint(PASSIVE)` when asked. A checkpoint copies
 * the WAL into the database file and syncs it (tens of ms on a busy disk); run by SQLite's
 * automatic checkpoint it would happen inside an append, on the event loop. PASSIVE never waits
 * for the writer: appends go on meanwhile.
 *
 * The worker is plain CommonJS evaluated from a string, so it runs the same under tsx, vitest and
 * compiled JS. If it cannot start, the journal's own connection checkpoints again (`onFailure`).
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.lib);
const db = new Database(workerData.path);
db.pragma('busy_timeout = 1000');
db.pragma('synchronous = ' + workerData.synchronous);
const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
parentPort.on('message', (m) => {
  if (m === 'close') {
    db.close();
    parentPort.close();
    return;
  }
  try {
    checkpoint.get();
  } catch {
    // Disk full or I/O error: the frames stay in the WAL; the next request tries again.
  }
});
`;

export class Checkpointer {
  private readonly worker: Worker;

  constructor(path: string, synchronous: 'FULL' | 'NORMAL', onFailure: (err: Error) => void) {
    const lib = createRequire(import.meta.url).resolve('better-sqlite3');
    // No execArgv: the gateway's loader flags (tsx) would cost the worker memory and it needs none.
    this.worker = new Worker(WORKER, { eval: true, execArgv: [], workerData: { lib, path, synchronous } });
    this.worker.unref();
    this.worker.once('error', onFailure);
  }

  /** Asks for a checkpoint (the worker runs them one after the other). */
  request(): void {
    this.worker.postMessage('checkpoint');
  }

  close(): void {
    this.worker.postMessage('close');
  }
}
