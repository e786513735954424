/**
 * The uplink outbox: one row per message to forward to the city broker, in the
 * journal's SQLite database. Rows are written by a journal transaction hook, so an event and
 * its outbox row commit (or roll back) together. A row is deleted only after the city
 * broker's PUBACK. Three lanes: alarms (always first, never evicted), events, telemetry
 * (evicted oldest first when the disk budget is reached). FIFO within a lane by row id.
 *
 * Personal data is masked, hashed or dropped as the site says before a row is written.
 *
 * Whether a row is in flight is kept in memory only: after a restart every row is pending.
 */
import type Database from 'better-sqlite3';
import type { EventEnvelope, EventKind } from '../core/envelope.js';
import { topics } from '../core/topics.js';
import type { JournalRow } from '../journal/journal.js';
import type { Redactor } from './privacy.js';

export const LANES = ['alarm', 'event', 'telemetry'] as const satisfies readonly EventKind[];
export type Lane = (typeof LANES)[number];
export const ALARM = 0;
export const EVENT = 1;
export const TELEMETRY = 2;

/** Rough per-row overhead (ids, index entries) added to payload and topic length in the budget. */
const ROW_OVERHEAD = 96;

export interface OutboxRow {
  id: number;
  lane: number;
  seq: number;
  eventId: string;
  topic: string;
  payload: string;
  retain: boolean;
  createdAt: number;
  bytes: number;
}

export interface LaneStats {
  lane: Lane;
  pending: number;
  bytes: number;
  enqueued: number;
  acked: number;
  evicted: number;
  /** created_at of the oldest pending row (ms epoch), or null when the lane is empty. */
  oldestCreatedAt: number | null;
}

export interface OutboxOptions {
  root: string;
  /** Disk budget in bytes (payloads, topics and a per-row overhead). */
  maxBytes: number;
  /** Called after a transaction that evicted telemetry (outside the transaction). */
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

export function laneOf(kind: EventKind): number {
  return kind === 'alarm' ? ALARM : kind === 'event' ? EVENT : TELEMETRY;
}

/** Creates the outbox tables if needed (idempotent; also used read-only by `gateway outbox`). */
export function createOutboxTables(db: Database.Database): void {
  db.exec(`
    CREATE TABLE IF NOT EXISTS outbox (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      lane INTEGER NOT NULL,
      seq INTEGER NOT NULL,
      event_id TEXT NOT NULL,
      topic TEXT NOT NULL,
      retain INTEGER NOT NULL,
      created_at INTEGER NOT NULL,
      bytes INTEGER NOT NULL,
      payload TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS outbox_lane ON outbox (lane, id);
    CREATE TABLE IF NOT EXISTS outbox_stats (
      lane INTEGER PRIMARY KEY,
      pending INTEGER NOT NULL DEFAULT 0,
      bytes INTEGER NOT NULL DEFAULT 0,
      enqueued INTEGER NOT NULL DEFAULT 0,
      acked INTEGER NOT NULL DEFAULT 0,
      evicted INTEGER NOT NULL DEFAULT 0
    );
    INSERT OR IGNORE INTO outbox_stats (lane) VALUES (0), (1), (2);
    CREATE TABLE IF NOT EXISTS uplink_state (key TEXT PRIMARY KEY, value) WITHOUT ROWID;
  `);
}

/** Reads the per-lane figures; works on a read-only connection. */
export function readLaneStats(db: Database.Database): LaneStats[] {
  const rows = db
    .prepare('SELECT lane, pending, bytes, enqueued, acked, evicted FROM outbox_stats ORDER BY lane')
    .all() as {
    lane: number;
    pending: number;
    bytes: number;
    enqueued: number;
    acked: number;
    evicted: number;
  }[];
  const oldest = db.prepare('SELECT created_at AS t FROM outbox WHERE lane = ? ORDER BY id LIMIT 1');
  return rows.map((r) => ({
    ...r,
    lane: LANES[r.lane] ?? 'telemetry',
    oldestCreatedAt: (oldest.get(r.lane) as { t: number } | undefined)?.t ?? null,
  }));
}

export function readUplinkState(db: Database.Database): Record<string, string | number> {
  const rows = db.prepare('SELECT key, value FROM uplink_state').all() as {
    key: string;
    value: string | number;
  }[];
  return Object.fromEntries(rows.map((r) => [r.key, r.value]));
}

export class Outbox {
  private readonly insert: Database.Statement;
  private readonly bump: Database.Statement;
  private readonly totalBytes: Database.Statement;
  private readonly oldestTelemetry: Database.Statement;
  private readonly evictUpTo: Database.Statement;
  private readonly fetchLane: Database.Statement;
  private readonly deleteOne: Database.Statement;
  private readonly ackTx: (rows: readonly OutboxRow[]) => void;
  private readonly setState: Database.Statement;
  private evictedUnreported = 0;
  private evictScheduled = false;

  constructor(
    readonly db: Database.Database,
    private readonly o: OutboxOptions,
  ) {
    createOutboxTables(db);
    this.insert = db.prepare(
      'INSERT INTO outbox (lane, seq, event_id, topic, retain, created_at, bytes, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.bump = db.prepare(
      'UPDATE outbox_stats SET pending = pending + ?, bytes = bytes + ?, enqueued = enqueued + ?, acked = acked + ?, evicted = evicted + ? WHERE lane = ?',
    );
    this.totalBytes = db.prepare('SELECT SUM(bytes) AS b FROM outbox_stats');
    this.oldestTelemetry = db.prepare('SELECT id, bytes FROM outbox WHERE lane = 2 ORDER BY id LIMIT ?');
    this.evictUpTo = db.prepare('DELETE FROM outbox WHERE lane = 2 AND id <= ?');
    this.fetchLane = db.prepare(
      'SELECT id, lane, seq, event_id AS eventId, topic, payload, retain, created_at AS createdAt, bytes FROM outbox WHERE lane = ? AND id > ? AND seq <= ? ORDER BY id LIMIT ?',
    );
    this.deleteOne = db.prepare('DELETE FROM outbox WHERE id = ?');
    this.setState = db.prepare(
      'INSERT INTO uplink_state (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value',
    );
    this.ackTx = db.transaction((rows: readonly OutboxRow[]) => {
      const n = [0, 0, 0];
      const b = [0, 0, 0];
      for (const r of rows) {
        // 0 changes: the row was evicted while in flight; it is not counted twice.
        if (this.deleteOne.run(r.id).changes) {
          n[r.lane]! += 1;
          b[r.lane]! += r.bytes;
        }
      }
      for (let lane = 0; lane < 3; lane++)
        if (n[lane]) this.bump.run(-n[lane]!, -b[lane]!, 0, n[lane]!, 0, lane);
    });
  }

  /**
   * Journal transaction hook: one outbox row per event (two for availability: the event and
   * the retained availability topic), then eviction if the budget is exceeded.
   */
  readonly txHook = (rows: readonly JournalRow[]): void => {
    const now = (this.o.now ?? Date.now)();
    const n = [0, 0, 0];
    const b = [0, 0, 0];
    const add = (env: EventEnvelope, lane: number, topic: string, json: string, retain: boolean) => {
      const bytes = json.length + topic.length + ROW_OVERHEAD;
      this.insert.run(lane, env.seq, env.id, topic, retain ? 1 : 0, now, bytes, json);
      n[lane]! += 1;
      b[lane]! += bytes;
    };
    for (const row of rows) {
      const { env } = row;
      const redacted = this.o.redact?.(env);
      const json = redacted ? JSON.stringify(redacted) : row.json;
      const lane = laneOf(env.kind);
      add(env, lane, topics.event(this.o.root, env.device.family, env.device.id, env.type), json, false);
      // A late (historical) availability is not the device's present: not retained.
      if (env.type === 'device.availability' && !env.historical)
        add(env, lane, topics.availability(this.o.root, env.device.id), json, true);
    }
    for (let lane = 0; lane < 3; lane++) if (n[lane]) this.bump.run(n[lane]!, b[lane]!, n[lane]!, 0, 0, lane);
    this.evictIfOverBudget();
  };

  /** Deletes the oldest telemetry until the outbox is back under 98 % of its budget. Inside the caller's transaction. */
  private evictIfOverBudget(): void {
    const total = (this.totalBytes.get() as { b: number | null }).b ?? 0;
    if (total <= this.o.maxBytes) return;
    const target = this.o.maxBytes * 0.98;
    let count = 0;
    let freed = 0;
    while (total - freed > target) {
      const batch = this.oldestTelemetry.all(1000) as { id: number; bytes: number }[];
      if (!batch.length) break; // only alarms and events left: never evicted
      let last = 0;
      let batchCount = 0;
      let batchBytes = 0;
      for (const r of batch) {
        last = r.id;
        batchCount += 1;
        batchBytes += r.bytes;
        if (total - freed - batchBytes <= target) break;
      }
      this.evictUpTo.run(last);
      count += batchCount;
      freed += batchBytes;
    }
    if (!count) return;
    this.bump.run(-count, -freed, 0, 0, count, TELEMETRY);
    this.evictedUnreported += count;
    if (!this.evictScheduled) {
      this.evictScheduled = true;
      // After the transaction (the pipeline must not be re-entered from inside its own commit).
      setImmediate(() => {
        this.evictScheduled = false;
        const c = this.evictedUnreported;
        this.evictedUnreported = 0;
        if (c) this.o.onEvicted?.(c);
      });
    }
  }

  /** Up to `limit` rows of one lane after row id `afterId`, oldest first. */
  fetch(lane: number, afterId: number, limit: number): OutboxRow[] {
    const durable = this.o.durableSeq?.() ?? Number.MAX_SAFE_INTEGER;
    const rows = this.fetchLane.all(lane, afterId, durable, limit) as (Omit<OutboxRow, 'retain'> & {
      retain: number;
    })[];
    return rows.map((r) => ({ ...r, retain: r.retain === 1 }));
  }

  /** Deletes acknowledged rows, in one transaction. */
  ack(rows: readonly OutboxRow[]): void {
    if (rows.length) this.ackTx(rows);
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
