/**
 * The journal: every normalised event, in SQLite (better-sqlite3, WAL). The pipeline posts events
 * in batches to the journal's writer thread (append-thread.ts), which commits them and what the
 * transaction hooks write with them (the uplink's outbox rows, the alarm state they change) in one
 * transaction, and answers once the batch survives what `synchronous` promises. Nothing is
 * acknowledged before that (what the pipeline publishes before: pipeline.ts). Retention by age and
 * by size.
 *
 * One device's events are found through the device index beside it (device-index.ts), which
 * the journal's worker thread fills behind the appends; the worker also runs the WAL checkpoints.
 *
 * Durability (sqlite.org/wal.html, sqlite.org/pragma.html#pragma_synchronous): with
 * `synchronous: FULL` the writer fsyncs the WAL after each commit, so an answered batch survives
 * power loss; with NORMAL it survives a crash of the process. The event loop waits for neither.
 * Every write on the journal's own connection (retention, the alarm engine's writes of their own)
 * keeps the configured `synchronous`, but the uplink's acknowledgements and evictions, which need no
 * sync (light-writes.ts).
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { EventEnvelope } from '../core/envelope.js';
import { GatewayError } from '../core/errors.js';
import { AppendThread, AppendThreadEnded } from './append-thread.js';
import { attachDeviceIndex, CHUNK_SQL, deviceParams, INDEX_EVERY, INDEX_MIN_INTERVAL_MS, indexChunk, indexFileOf, ofDevices } from './device-index.js';
import { JournalWorker } from './journal-worker.js';
import { type AppliedMigration, migrate } from './migrations.js';
import { DirectWriter, type TxWriter, WriteRecorder } from './tx-writer.js';

/** Seqs per query of `bodies` (well below SQLite's limit on bound parameters). */
const BODIES_CHUNK = 500;
/** Events appended between two checkpoint requests to the worker. */
const CHECKPOINT_EVERY = 500;
/**
 * WAL pages at which the worker's checkpoint becomes FULL (see journal-worker.ts): under steady
 * appends a PASSIVE checkpoint never catches the writer, and the WAL only starts over once one
 * has copied everything.
 */
const FULL_CHECKPOINT_PAGES = 4_000;
/** SQLite's own automatic checkpoint (on the connection that commits, in its commit) while the worker runs: a last resort. */
const BACKSTOP_PAGES = 4 * FULL_CHECKPOINT_PAGES;
/**
 * SQLite page caches, in KiB (sqlite.org/pragma.html#pragma_cache_size). better-sqlite3 builds
 * SQLite with 16 MB per connection and attached database: the journal's three connections (its
 * own and its two threads', two with the device index attached) would hold 80 MB of the gateway's
 * memory budget once full. An append touches few pages (the right-hand edges of the B-trees); what
 * a query reads beyond the cache comes from the operating system's file cache.
 */
export const PAGE_CACHE_KIB = { journal: 4_096, other: 2_048 } as const;

/** How long a write waits for another connection's write lock (SQLite's busy timeout). */
const BUSY_TIMEOUT_MS = 5_000;

const INSERT_EVENT = 'INSERT INTO events (seq, id, received_at, device_id, family, type, kind, severity, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)';
const SAVE_SEQ = "INSERT INTO meta (key, value) VALUES ('last_seq', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value";

/** Writes in the transaction of a batch of events (`tx`: recorded for the writer thread, or run at once). */
export type TxHook = (rows: readonly JournalRow[], tx: TxWriter) => void;

export interface JournalOptions {
  path: string;
  /** FULL survives power loss; NORMAL survives a process crash only (sqlite.org/wal.html). */
  synchronous: 'FULL' | 'NORMAL';
  retention: { maxAgeDays: number; maxSizeMB: number };
  /** Events appended between two chunks of the device index (default `INDEX_EVERY`). */
  indexEvery?: number;
}

export interface EventQuery {
  since?: Date;
  until?: Date;
  device?: string;
  type?: string;
  afterSeq?: number;
  /** At most this many events (default 1,000): the first that match, or with `newest` the last (in seq order all the same). */
  limit?: number;
  newest?: boolean;
}

/** An event ready to be stored: the envelope and its JSON text (serialised once). */
export interface JournalRow {
  env: EventEnvelope;
  json: string;
}

export class Journal {
  readonly db: Database.Database;
  /** The schema migrations this open applied (empty when the database was current), for the log. */
  readonly migrated: AppliedMigration[];
  private readonly appendTx: Database.Transaction<(rows: readonly JournalRow[]) => void>;
  private readonly txHooks: TxHook[] = [];
  /** Writes of `append`, at once on this connection. */
  private readonly direct: DirectWriter;
  /** Writes of `post`, for the writer thread. */
  private readonly recorder = new WriteRecorder();
  /** Started at the first `post`; undefined for an in-memory journal or after it failed (then `post` commits here). */
  private writer: AppendThread | undefined;
  private writerFailed = false;
  private readonly syncFailedListeners: ((err: Error) => void)[] = [];
  /** Highest seq appended or posted, and highest seq known to survive what `synchronous` promises. */
  private appendedSeq = 0;
  private durable = 0;
  private readonly durableListeners: (() => void)[] = [];
  /** Started at the first request (a journal that stays small never needs one). */
  private worker: JournalWorker | undefined;
  private workerFailed = false;
  private sinceCheckpoint = 0;
  private sinceIndex = 0;
  private readonly indexEvery: number;
  private indexedAt = -Infinity;
  private indexTimer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: JournalOptions) {
    this.indexEvery = opts.indexEvery ?? INDEX_EVERY;
    if (opts.path !== ':memory:') mkdirSync(dirname(opts.path), { recursive: true });
    try {
      this.db = new Database(opts.path);
    } catch (err) {
      throw new GatewayError(
        'JOURNAL_OPEN',
        `cannot open the journal ${opts.path}: ${err}`,
        'check journal.path and its permissions',
        { cause: err },
      );
    }
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`synchronous = ${opts.synchronous}`);
    this.db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    this.db.pragma(`cache_size = -${PAGE_CACHE_KIB.journal}`);
    try {
      this.migrated = migrate(this.db, opts.path);
    } catch (err) {
      this.db.close();
      throw err;
    }
    this.appendedSeq = this.durable = this.lastSeq();
    const id = this.db.prepare("SELECT value FROM meta WHERE key = 'journal_id'").get() as { value: string };
    const indexed = attachDeviceIndex(this.db, opts.path, id.value, this.appendedSeq, PAGE_CACHE_KIB.other);
    this.direct = new DirectWriter(this.db);
    this.appendTx = this.db.transaction((rows: readonly JournalRow[]) => this.write(rows, this.direct));
    // A journal upgraded, restored or left with its index behind: built now, not after the next chunk's events.
    if (this.appendedSeq - indexed > this.indexEvery) this.requestWork();
  }

  /** The highest sequence number ever committed (0 for a new journal). Survives retention. */
  lastSeq(): number {
    const meta = this.db.prepare("SELECT value FROM meta WHERE key = 'last_seq'").get() as
      | { value: number }
      | undefined;
    const max = this.db.prepare('SELECT MAX(seq) AS m FROM events').get() as { m: number | null };
    return Math.max(meta?.value ?? 0, max.m ?? 0);
  }

  /**
   * Runs `hook` for every batch appended or posted: what it writes through its `tx` (to this
   * database, e.g. the uplink outbox) commits or rolls back with the events. For a posted batch
   * it runs when the batch is posted, and again if the batch is posted again after a failure.
   */
  addTxHook(hook: TxHook): void {
    this.txHooks.push(hook);
  }

  /**
   * Appends a batch in one transaction on this connection, at once (tools and tests; the pipeline
   * posts). Throws if the batch could not be stored. On return it survives what `synchronous`
   * promises. Not while posted batches wait: seqs would commit out of order.
   */
  append(rows: readonly JournalRow[]): void {
    if (!rows.length) return;
    this.appendTx.immediate(rows);
    this.appended(rows);
    this.markDurable(this.appendedSeq);
  }

  /**
   * Posts a batch to the writer thread (group commit, off the event loop). `done` is called once
   * it survives what `synchronous` promises, or with the error that kept it from being stored:
   * then nothing of it was written, nor of any batch posted after it (they fail too); post them
   * again, in order. Answers come in the order of the posts. Throws, having posted nothing, when
   * a transaction hook throws. In-memory (or when the thread failed) commits here, at once.
   */
  post(rows: readonly JournalRow[], done: (err: Error | null) => void): void {
    if (!rows.length) return void setImmediate(done, null);
    const writer = this.startedWriter();
    if (!writer) {
      this.append(rows);
      return void setImmediate(done, null);
    }
    try {
      this.write(rows, this.recorder);
    } catch (err) {
      this.recorder.take(); // what the batch recorded before the hook threw
      throw err;
    }
    const ops = this.recorder.take();
    this.appended(rows);
    const last = this.appendedSeq;
    writer.post(ops, (err) => {
      // The thread ended before it answered: the batch may be committed or not.
      if (err instanceof AppendThreadEnded && this.lastSeq() >= last) err = null;
      if (!err) this.markDurable(last);
      done(err);
    });
  }

  /** Called when the writer's fsync failed: its batches are committed, not yet durable; it retries. */
  onSyncFailed(listener: (err: Error) => void): void {
    this.syncFailedListeners.push(listener);
  }

  /** A batch's writes: its events, the last seq, then the hooks'. */
  private write(rows: readonly JournalRow[], tx: TxWriter): void {
    for (const { env, json } of rows) {
      tx.run(INSERT_EVENT, env.seq, env.id, Date.parse(env.receivedAt), env.device.id, env.device.family, env.type, env.kind, env.severity, json);
    }
    tx.run(SAVE_SEQ, rows[rows.length - 1]!.env.seq);
    for (const hook of this.txHooks) hook(rows, tx);
  }

  /** After a batch was appended or posted: the device index and checkpoints follow. */
  private appended(rows: readonly JournalRow[]): void {
    this.appendedSeq = rows[rows.length - 1]!.env.seq;
    this.sinceCheckpoint += rows.length;
    this.sinceIndex += rows.length;
    if (this.sinceIndex >= this.indexEvery && this.indexDue()) this.requestWork();
    else if (this.sinceCheckpoint >= CHECKPOINT_EVERY) this.requestCheckpoint();
  }

  /** Whether the next chunk of the index may start now; if not, it starts when it may. */
  private indexDue(): boolean {
    const wait = this.indexedAt + INDEX_MIN_INTERVAL_MS - performance.now();
    if (wait > 0) this.indexTimer ??= setTimeout(() => this.requestWork(), wait).unref();
    return wait <= 0;
  }

  /** The writer thread, started at the first post; undefined where it cannot run. */
  private startedWriter(): AppendThread | undefined {
    if (this.writerFailed || this.opts.path === ':memory:') return undefined;
    const { path, synchronous } = this.opts;
    this.writer ??= new AppendThread(
      { path, fsync: synchronous === 'FULL', busyMs: BUSY_TIMEOUT_MS, cacheKiB: PAGE_CACHE_KIB.other, autocheckpointPages: BACKSTOP_PAGES },
      this.recorder,
      {
        syncFailed: (err) => this.syncFailedListeners.forEach((l) => l(err)),
        // Posts commit on this connection from now on.
        ended: () => {
          this.writerFailed = true;
          this.writer = undefined;
        },
      },
    );
    return this.writer;
  }

  /**
   * The highest seq whose batch survives what `synchronous` promises (FULL: power loss, after
   * its `sync`): what other readers of this database (the uplink outbox) may send on.
   */
  get durableSeq(): number {
    return this.durable;
  }

  /** Called after `durableSeq` moved on. */
  onDurable(listener: () => void): void {
    this.durableListeners.push(listener);
  }

  /** Device index and checkpoint: on the worker, or here when it cannot run (in-memory journal, worker failed). */
  private requestWork(): void {
    this.sinceCheckpoint = this.sinceIndex = 0;
    this.indexedAt = performance.now();
    clearTimeout(this.indexTimer);
    this.indexTimer = undefined;
    const worker = this.startedWorker();
    if (worker) worker.request();
    else while (indexChunk(this.db) > 0);
  }

  /**
   * A checkpoint on the worker. Without a worker SQLite's automatic checkpoint does it, and the
   * index is filled here at this pace instead: a large chunk would hold the event loop.
   */
  private requestCheckpoint(): void {
    this.sinceCheckpoint = 0;
    const worker = this.startedWorker();
    if (worker) worker.checkpoint();
    else this.requestWork();
  }

  /** Drops the device index entries of removed events (a scan of the index: on the worker when it can run). */
  private pruneIndex(): void {
    const worker = this.startedWorker();
    if (worker) worker.prune();
    else this.db.prepare(CHUNK_SQL.prune).run();
  }

  /** The worker, started at the first need; undefined where it cannot run. */
  private startedWorker(): JournalWorker | undefined {
    if (this.workerFailed || this.opts.path === ':memory:') return undefined;
    if (!this.worker) {
      this.worker = new JournalWorker(
        {
          path: this.opts.path,
          index: indexFileOf(this.opts.path),
          fullAtPages: FULL_CHECKPOINT_PAGES,
          cacheKiB: PAGE_CACHE_KIB.other,
        },
        () => {
          // SQLite's automatic checkpoint (1,000 pages, its default) takes over again.
          this.workerFailed = true;
          this.worker = undefined;
          if (this.db.open) this.db.pragma('wal_autocheckpoint = 1000');
        },
      );
      this.db.pragma(`wal_autocheckpoint = ${BACKSTOP_PAGES}`);
    }
    return this.worker;
  }

  private markDurable(seq: number): void {
    if (seq <= this.durable) return;
    this.durable = seq;
    for (const l of this.durableListeners) l();
  }

  query(q: EventQuery = {}): EventEnvelope[] {
    const where: string[] = [];
    const args: unknown[] = [];
    const add = (clause: string, ...values: unknown[]) => {
      where.push(clause);
      args.push(...values);
    };
    if (q.since) add('received_at >= ?', q.since.getTime());
    if (q.until) add('received_at < ?', q.until.getTime());
    if (q.device) add(ofDevices(1), deviceParams([q.device]));
    // `gas.alarm` also matches `gas.alarm.high`
    if (q.type) add('(type = ? OR type LIKE ?)', q.type, `${q.type}.%`);
    if (q.afterSeq !== undefined) add('seq > ?', q.afterSeq);
    const sql = `SELECT body FROM events ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq ${q.newest ? 'DESC' : ''} LIMIT ?`;
    const rows = this.db.prepare(sql).all(...args, q.limit ?? 1000) as { body: string }[];
    return (q.newest ? rows.reverse() : rows).map((r) => JSON.parse(r.body) as EventEnvelope);
  }

  /**
   * The bodies (envelope JSON) of the events with these seqs, by seq; a seq no longer in the
   * journal (retention) is absent. Read `BODIES_CHUNK` seqs per query.
   */
  bodies(seqs: readonly number[]): Map<number, string> {
    const out = new Map<number, string>();
    for (let i = 0; i < seqs.length; i += BODIES_CHUNK) {
      const chunk = seqs.slice(i, i + BODIES_CHUNK);
      const sql = `SELECT seq, body FROM events WHERE seq IN (${chunk.map(() => '?').join(',')})`;
      for (const r of this.db.prepare(sql).all(...chunk) as { seq: number; body: string }[]) out.set(r.seq, r.body);
    }
    return out;
  }

  count(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM events').get() as { n: number }).n;
  }

  sizeBytes(): number {
    const pages = this.db.pragma('page_count', { simple: true }) as number;
    const free = this.db.pragma('freelist_count', { simple: true }) as number;
    const size = this.db.pragma('page_size', { simple: true }) as number;
    return (pages - free) * size;
  }

  /** Deletes events older than maxAgeDays, then the oldest until the file fits maxSizeMB. */
  prune(now = Date.now()): number {
    const { maxAgeDays, maxSizeMB } = this.opts.retention;
    let deleted = this.db
      .prepare('DELETE FROM events WHERE received_at < ?')
      .run(now - maxAgeDays * 86_400_000).changes;
    const budget = maxSizeMB * 1024 * 1024;
    for (let size = this.sizeBytes(); size > budget; size = this.sizeBytes()) {
      const n = this.count();
      if (n === 0) break;
      // Delete the share of rows the file is over budget by (at least 1,000 or all), oldest first.
      const share = Math.min(n, Math.max(1000, Math.ceil((n * (size - budget)) / size)));
      deleted += this.db
        .prepare('DELETE FROM events WHERE seq IN (SELECT seq FROM events ORDER BY seq LIMIT ?)')
        .run(share).changes;
    }
    if (deleted) this.pruneIndex();
    return deleted;
  }

  /**
   * Closes the journal at once; the promise resolves when the worker thread has closed its
   * connection too (what replaces the database files on disk waits for it).
   */
  close(): Promise<void> {
    clearTimeout(this.indexTimer);
    const closed = [this.worker?.close(), this.writer?.close()];
    this.worker = this.writer = undefined;
    if (this.db.open) this.db.close();
    return Promise.all(closed).then(() => undefined);
  }
}
