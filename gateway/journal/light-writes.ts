/**
 * Transactions that neither sync the disk at their commit nor wait for another connection's write
 * lock, on a connection that otherwise does both (`synchronous: FULL` and a busy timeout, as every
 * other write on the journal's connection needs). With WAL a commit without its sync still
 * survives a crash of the process; only a power cut may lose it (sqlite.org/wal.html). Used by the
 * uplink's acknowledgements and evictions: a lost acknowledgement only sends the event again,
 * with the same id; a lost eviction is made again. Neither makes the event loop wait for the disk,
 * nor for the journal's threads (their commits and checkpoints hold the write lock for a few ms,
 * longer on a busy disk).
 */
import type Database from 'better-sqlite3';

/** A write that may not wait found the write lock held by another connection: nothing was written, try again shortly. */
export class JournalBusy extends Error {
  constructor() {
    super('the journal is busy (one of its threads holds the write lock for a moment)');
  }
}

export class LightWrites {
  private readonly noSync: Database.Statement;
  private readonly sync: Database.Statement;
  private readonly noWait: Database.Statement;
  private readonly wait: Database.Statement;

  /** `db`'s present `synchronous` and busy timeout are what every other write keeps. */
  constructor(db: Database.Database) {
    const synchronous = db.pragma('synchronous', { simple: true }) as number;
    const busyMs = db.pragma('busy_timeout', { simple: true }) as number;
    this.noSync = db.prepare('PRAGMA synchronous = NORMAL');
    this.sync = db.prepare(`PRAGMA synchronous = ${synchronous}`);
    this.noWait = db.prepare('PRAGMA busy_timeout = 0');
    this.wait = db.prepare(`PRAGMA busy_timeout = ${busyMs}`);
    // SQLite applies a PRAGMA that sets a value when it prepares it, and prepares it again for every
    // later run: its first run does nothing. Run once here, in an order that ends on the present values.
    for (const pragma of [this.noSync, this.sync, this.noWait, this.wait]) pragma.run();
  }

  /**
   * Runs `tx` (a transaction: better-sqlite3's `.immediate`, so that the lock is taken first)
   * without the sync at its commit. `waitForLock: false`: throws `JournalBusy` at once, having
   * written nothing, while another connection holds the write lock.
   */
  run<T>(tx: () => T, { waitForLock = true } = {}): T {
    this.noSync.run();
    if (!waitForLock) this.noWait.run();
    try {
      return tx();
    } catch (err) {
      if (!waitForLock && String((err as { code?: unknown }).code).startsWith('SQLITE_BUSY')) throw new JournalBusy();
      throw err;
    } finally {
      this.sync.run();
      if (!waitForLock) this.wait.run();
    }
  }
}
