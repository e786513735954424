/**
 * Committed rows waiting to survive power loss, in seq order: the journal's WAL fsync runs on
 * libuv's thread pool and covers everything committed before it started. One fsync at a time, so
 * under load the batches committed while one runs share the next; a batch with an alarm gets its
 * own at once, beside the one in flight, and goes out when that returns, not a turn later.
 */
import type { Journal, JournalRow } from '../journal/journal.js';

export interface FsyncListener<R> {
  /** These rows (a prefix of those waiting, in seq order) are durable now. */
  durable(rows: R[]): void;
  /** An fsync failed: the rows wait (`start` again to retry). */
  failed(err: unknown): void;
}

export class FsyncQueue<R extends JournalRow> {
  /** Committed, not yet durable, in seq order: the fsyncs in flight cover a prefix of them. */
  private waiting: R[] = [];
  private inFlight = 0;
  /** The highest seq the last fsync started covers. */
  private coveredSeq = 0;
  /** An urgent start found no slot: the next start may take the second one. */
  private urgentWaits = false;

  constructor(
    private readonly journal: Pick<Journal, 'sync' | 'syncNow'>,
    private readonly listener: FsyncListener<R>,
  ) {}

  get rows(): readonly R[] {
    return this.waiting;
  }

  /** Rows just committed (after those already waiting). */
  add(rows: R[]): void {
    this.waiting = this.waiting.length ? this.waiting.concat(rows) : rows;
  }

  /** Starts an fsync of what waits, unless one runs; `urgent`: even if one runs (one more at most). */
  start(urgent = false): void {
    const last = this.waiting.at(-1);
    if (!last || last.env.seq <= this.coveredSeq) return;
    if (this.inFlight > (urgent || this.urgentWaits ? 1 : 0)) {
      this.urgentWaits ||= urgent;
      return;
    }
    this.urgentWaits = false;
    const upTo = (this.coveredSeq = last.env.seq);
    this.inFlight++;
    this.journal.sync((err) => {
      this.inFlight--;
      if (err) {
        this.coveredSeq = 0;
        return this.listener.failed(err);
      }
      let n = 0;
      while (n < this.waiting.length && this.waiting[n]!.env.seq <= upTo) n++;
      this.start();
      if (n) this.listener.durable(this.waiting.splice(0, n)); // none: made durable meanwhile
    });
  }

  /** Makes everything waiting durable now, blocking (shutdown); `failed` if the disk refused. */
  syncNow(): void {
    const rows = this.waiting;
    if (!rows.length) return;
    try {
      this.journal.syncNow();
    } catch (err) {
      return this.listener.failed(err);
    }
    this.waiting = [];
    this.listener.durable(rows);
  }
}
