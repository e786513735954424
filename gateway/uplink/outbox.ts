/**
 * The uplink outbox: the messages to forward to the city broker, in the journal's SQLite
 * database. Rows are written by a journal transaction hook, so an event and its outbox row
 * commit (or roll back) together. A row is deleted only after the city broker's PUBACK. Three
 * lanes: alarms (always first, never evicted), events, telemetry (evicted oldest first when the
 * disk budget is reached). FIFO within a lane by row id.
 *
 * Alarms and events get one row per message, holding its topic and payload. The telemetry of
 * one transaction is one row naming its range of seqs: the readings are read back from the
 * journal's events table when they are sent (a reading is stored once, not twice); each
 * acknowledgement moves the row's start past its reading, the last deletes the row (so a
 * reconnect re-sends none that was acknowledged). The journal's retention bounds that backlog
 * too: readings it removed before they were sent are counted as evicted.
 *
 * Personal data is masked, hashed or dropped as the site says before a row is written; a
 * reading that has any gets a row of its own, as an event does.
 *
 * Whether a row is in flight is kept in memory only: after a restart every row is pending.
 */
import type Database from 'better-sqlite3';
import type { EventEnvelope } from '../core/envelope.js';
import { topics } from '../core/topics.js';
import type { JournalRow } from '../journal/journal.js';
import type { TxWriter } from '../journal/tx-writer.js';
import { LightWrites } from '../journal/light-writes.js';
import { createOutboxTables, type LaneStats, laneOf, readLaneStats, readUplinkState, TELEMETRY } from './outbox-tables.js';
import type { Redactor } from './privacy.js';

/** Rough per-row overhead (ids, index entries) added to payload and topic length in the budget. */
const ROW_OVERHEAD = 96;

/** The writes of the journal transaction hook (run in the journal's writer thread). */
const INSERT_ROW =
  'INSERT INTO outbox (lane, seq, event_id, topic, retain, created_at, bytes, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?)';
const INSERT_RANGE =
  "INSERT INTO outbox (lane, seq, first_seq, messages, event_id, topic, retain, created_at, bytes, payload) VALUES (2, ?, ?, ?, '', '', 0, ?, ?, '')";
const BUMP =
  'UPDATE outbox_stats SET pending = pending + ?, bytes = bytes + ?, enqueued = enqueued + ?, acked = acked + ?, evicted = evicted + ? WHERE lane = ?';

/** One message to send; `id` is its outbox row (a telemetry row holds several). */
export interface OutboxRow {
  id: number;
  lane: number;
  seq: number;
  eventId: string;
  topic: string;
  payload: string;
  retain: boolean;
  createdAt: number;
  /** Its acknowledgement deletes its row (the row's last message); else it moves the row's start past it. */
  settles: boolean;
  /** Its bytes in the disk budget. */
  bytes: number;
}

/** An outbox row as stored: a range row (`firstSeq` set) has no topic or payload of its own. */
interface StoredRow extends Omit<OutboxRow, 'retain' | 'settles'> {
  retain: number;
  firstSeq: number | null;
  messages: number;
}

export interface OutboxOptions {
  root: string;
  /** Disk budget in bytes (payloads, topics and a per-row overhead). */
  maxBytes: number;
  /** Called after telemetry was evicted (outside the transaction). */
  onEvicted?: (count: number) => void;
  /** Rewrites personal data before the row is written (privacy.ts); the journal keeps the original. */
  redact?: Redactor;
  /**
   * The highest seq whose events survive power loss (the journal's `durableSeq`): rows of later
   * events are committed but not sent yet. Default: every committed row may be sent.
   */
  durableSeq?: () => number;
  now?: () => number;
}

export class Outbox {
  private readonly bump: Database.Statement;
  private readonly totalBytes: Database.Statement;
  private readonly oldestTelemetry: Database.Statement;
  private readonly evictUpTo: Database.Statement;
  private readonly fetchLane: Database.Statement;
  private readonly fetchRow: Database.Statement;
  private readonly rangeReadings: Database.Statement;
  private readonly deleteOne: Database.Statement;
  private readonly settle: Database.Statement;
  private readonly advance: Database.Statement;
  private readonly evictTx: Database.Transaction<() => number>;
  /** Returns the telemetry found removed by the journal's retention. */
  private readonly ackTx: Database.Transaction<(rows: readonly OutboxRow[]) => number>;
  private readonly setState: Database.Statement;
  /** Acknowledgements and evictions commit without an fsync (and, while the uplink drains, without waiting for the journal's writers). */
  private readonly light: LightWrites;
  private evictedUnreported = 0;
  private evictScheduled = false;

  constructor(
    readonly db: Database.Database,
    private readonly o: OutboxOptions,
  ) {
    createOutboxTables(db);
    this.light = new LightWrites(db);
    this.bump = db.prepare(BUMP);
    this.totalBytes = db.prepare('SELECT SUM(bytes) AS b FROM outbox_stats');
    this.oldestTelemetry = db.prepare('SELECT id, bytes, messages FROM outbox WHERE lane = 2 ORDER BY id LIMIT ?');
    this.evictUpTo = db.prepare('DELETE FROM outbox WHERE lane = 2 AND id <= ?');
    this.fetchLane = db.prepare(
      'SELECT id, lane, seq, first_seq AS firstSeq, messages, event_id AS eventId, topic, payload, retain, created_at AS createdAt, bytes FROM outbox WHERE lane = ? AND id > ? AND seq <= ? ORDER BY id LIMIT ?',
    );
    this.fetchRow = db.prepare(
      'SELECT id, lane, seq, first_seq AS firstSeq, messages, created_at AS createdAt, bytes FROM outbox WHERE id = ?',
    );
    // The journal's events (same database): a range row's readings.
    this.rangeReadings = db.prepare(
      "SELECT seq, id, device_id AS device, family, type, body FROM events WHERE seq > ? AND seq <= ? AND kind = 'telemetry' ORDER BY seq LIMIT ?",
    );
    this.deleteOne = db.prepare('DELETE FROM outbox WHERE id = ?');
    this.settle = db.prepare('DELETE FROM outbox WHERE id = ? RETURNING messages, bytes');
    this.advance = db.prepare(
      'UPDATE outbox SET first_seq = ? + 1, messages = messages - 1, bytes = bytes - ? WHERE id = ? AND first_seq <= ?',
    );
    this.setState = db.prepare(
      'INSERT INTO uplink_state (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value',
    );
    this.evictTx = db.transaction(() => this.evict());
    this.ackTx = db.transaction((rows: readonly OutboxRow[]) => {
      const n = [0, 0, 0];
      const b = [0, 0, 0];
      const acked = [0, 0, 0];
      for (const r of rows) {
        // Nothing changes when the row was evicted while in flight, or the message was already counted.
        if (r.settles) {
          const left = this.settle.get(r.id) as { messages: number; bytes: number } | undefined;
          if (!left) continue;
          // More than this one left: readings the journal's retention removed before they were sent.
          n[r.lane]! += left.messages;
          b[r.lane]! += left.bytes;
        } else if (this.advance.run(r.seq, r.bytes, r.id, r.seq).changes) {
          n[r.lane]! += 1;
          b[r.lane]! += r.bytes;
        } else continue;
        acked[r.lane]! += 1;
      }
      for (let lane = 0; lane < 3; lane++)
        if (n[lane]) this.bump.run(-n[lane]!, -b[lane]!, 0, acked[lane]!, n[lane]! - acked[lane]!, lane);
      return n[TELEMETRY]! - acked[TELEMETRY]!;
    });
  }

  /**
   * Journal transaction hook: one outbox row per alarm or event (two for availability: the event
   * and the retained availability topic), one per run of telemetry. Eviction follows the commit
   * (`evictIfOverBudget`).
   */
  readonly txHook = (rows: readonly JournalRow[], tx: TxWriter): void => {
    const now = (this.o.now ?? Date.now)();
    const n = [0, 0, 0];
    const b = [0, 0, 0];
    const add = (env: EventEnvelope, lane: number, topic: string, json: string, retain: boolean) => {
      const bytes = json.length + topic.length + ROW_OVERHEAD;
      tx.run(INSERT_ROW, lane, env.seq, env.id, topic, retain ? 1 : 0, now, bytes, json);
      n[lane]! += 1;
      b[lane]! += bytes;
    };
    // The run of telemetry not written yet: seqs first..last (alarms and events between them have rows of their own).
    let first = 0;
    let last = 0;
    let count = 0;
    let bytes = 0;
    const endRun = () => {
      if (!count) return;
      tx.run(INSERT_RANGE, last, first, count, now, bytes);
      n[TELEMETRY]! += count;
      b[TELEMETRY]! += bytes;
      count = bytes = 0;
    };
    for (const row of rows) {
      const { env } = row;
      const redacted = this.o.redact?.(env);
      const lane = laneOf(env.kind);
      if (lane === TELEMETRY && !redacted) {
        if (!count) first = env.seq;
        last = env.seq;
        count += 1;
        // As its own row would count it (the topic's length estimated by the overhead).
        bytes += row.json.length + ROW_OVERHEAD;
        continue;
      }
      // A rewritten reading is sent from its own row: the run ends before it.
      if (lane === TELEMETRY) endRun();
      const json = redacted ? JSON.stringify(redacted) : row.json;
      add(env, lane, topics.event(this.o.root, env.device.family, env.device.id, env.type), json, false);
      // A late (historical) availability is not the device's present: not retained.
      if (env.type === 'device.availability' && !env.historical)
        add(env, lane, topics.availability(this.o.root, env.device.id), json, true);
    }
    endRun();
    for (let lane = 0; lane < 3; lane++) if (n[lane]) tx.run(BUMP, n[lane]!, b[lane]!, n[lane]!, 0, 0, lane);
  };

  /**
   * Deletes the oldest telemetry until the outbox is back under 98 % of its budget, in a
   * transaction without an fsync (run after each commit of the journal: new rows may have passed
   * it). `waitForLock: false`: throws `JournalBusy`, having deleted nothing, while another
   * connection holds the write lock.
   */
  evictIfOverBudget({ waitForLock = true } = {}): void {
    if (((this.totalBytes.get() as { b: number | null }).b ?? 0) <= this.o.maxBytes) return;
    const count = this.light.run(() => this.evictTx.immediate(), { waitForLock });
    if (count) this.reportEvicted(count);
  }

  /** Returns the count of readings evicted. */
  private evict(): number {
    const total = (this.totalBytes.get() as { b: number | null }).b ?? 0;
    if (total <= this.o.maxBytes) return 0;
    const target = this.o.maxBytes * 0.98;
    let count = 0;
    let freed = 0;
    while (total - freed > target) {
      const batch = this.oldestTelemetry.all(1000) as { id: number; bytes: number; messages: number }[];
      if (!batch.length) break; // only alarms and events left: never evicted
      let last = 0;
      let batchCount = 0;
      let batchBytes = 0;
      for (const r of batch) {
        last = r.id;
        batchCount += r.messages;
        batchBytes += r.bytes;
        if (total - freed - batchBytes <= target) break;
      }
      this.evictUpTo.run(last);
      count += batchCount;
      freed += batchBytes;
    }
    if (count) this.bump.run(-count, -freed, 0, 0, count, TELEMETRY);
    return count;
  }

  /** Counted; reported after the transaction (the pipeline must not be re-entered from inside its own commit). */
  private reportEvicted(count: number): void {
    this.evictedUnreported += count;
    if (!this.evictScheduled) {
      this.evictScheduled = true;
      setImmediate(() => {
        this.evictScheduled = false;
        const c = this.evictedUnreported;
        this.evictedUnreported = 0;
        if (c) this.o.onEvicted?.(c);
      });
    }
  }

  /**
   * Up to `limit` messages of one lane, oldest first, after row `afterId`, or, when `afterSeq` is
   * given, after the reading of seq `afterSeq` in the telemetry row `afterId`.
   */
  fetch(lane: number, afterId: number, limit: number, afterSeq = 0): OutboxRow[] {
    const durable = this.o.durableSeq?.() ?? Number.MAX_SAFE_INTEGER;
    const out: OutboxRow[] = [];
    if (afterSeq) {
      const r = this.fetchRow.get(afterId) as StoredRow | undefined;
      if (r && r.firstSeq !== null) this.readRange(r, afterSeq, limit, out);
    }
    // Each row gives at least one message, unless the journal's retention removed all its readings.
    for (let after = afterId, n = limit - out.length; n > 0; n = limit - out.length) {
      const rows = this.fetchLane.all(lane, after, durable, n) as StoredRow[];
      for (const r of rows) {
        after = r.id;
        if (out.length >= limit) break;
        if (r.firstSeq !== null) this.readRange(r, r.firstSeq - 1, limit - out.length, out);
        else {
          const { firstSeq: _, messages: __, ...one } = r;
          out.push({ ...one, retain: r.retain === 1, settles: true });
        }
      }
      if (rows.length < n) break;
    }
    return out;
  }

  /**
   * The readings of a range row after seq `after`, read from the journal. The last one's
   * acknowledgement settles the row: its last seq's, or whichever comes last when the journal's
   * retention removed the end of the range (a range it removed whole is counted as evicted now).
   */
  private readRange(r: StoredRow, after: number, limit: number, out: OutboxRow[]): void {
    const found = this.rangeReadings.all(after, r.seq, limit) as {
      seq: number;
      id: string;
      device: string;
      family: string;
      type: string;
      body: string;
    }[];
    const ended = found.length < limit;
    if (!found.length) {
      if (ended && after < r.firstSeq!) this.dropRange(r);
      return;
    }
    for (const e of found) {
      const settles = e.seq === r.seq || (ended && e === found[found.length - 1]);
      out.push({
        id: r.id,
        lane: TELEMETRY,
        seq: e.seq,
        eventId: e.id,
        topic: topics.event(this.o.root, e.family, e.device, e.type),
        payload: e.body,
        retain: false,
        createdAt: r.createdAt,
        settles,
        bytes: e.body.length + ROW_OVERHEAD, // as the run counted it
      });
    }
  }

  /** A range row whose readings the journal's retention removed before they were sent. */
  private dropRange(r: StoredRow): void {
    const deleted = this.db.transaction(() => {
      if (!this.deleteOne.run(r.id).changes) return false;
      this.bump.run(-r.messages, -r.bytes, 0, 0, r.messages, TELEMETRY);
      return true;
    })();
    if (deleted) this.reportEvicted(r.messages);
  }

  /**
   * Deletes acknowledged rows, in one transaction without an fsync: lost in a power cut, they are
   * only sent again (same ids). `waitForLock: false`: throws `JournalBusy`, having deleted
   * nothing, while one of the journal's threads (writer, worker) holds the write lock, so the
   * event loop does not wait for it.
   */
  ack(rows: readonly OutboxRow[], { waitForLock = true } = {}): void {
    // Reported once committed: a rolled-back acknowledgement evicted nothing.
    const removed = rows.length ? this.light.run(() => this.ackTx.immediate(rows), { waitForLock }) : 0;
    if (removed) this.reportEvicted(removed);
  }

  /** The highest row id ever assigned (rows up to it existed before this moment). */
  lastId(): number {
    const r = this.db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'").get() as
      | { seq: number }
      | undefined;
    return r?.seq ?? 0;
  }

  stats(): LaneStats[] {
    return readLaneStats(this.db);
  }

  totalPending(): number {
    return this.stats().reduce((s, l) => s + l.pending, 0);
  }

  saveState(values: Record<string, string | number>): void {
    this.db.transaction(() => {
      for (const [k, v] of Object.entries(values)) this.setState.run(k, v);
    })();
  }

  state(): Record<string, string | number> {
    return readUplinkState(this.db);
  }
}
