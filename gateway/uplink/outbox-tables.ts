/**
 * The outbox's tables in the journal's database, and what reads them without an `Outbox` (the
 * `gateway outbox` report and the console, on read-only connections).
 */
import type Database from 'better-sqlite3';
import type { EventKind } from '../core/envelope.js';

export const LANES = ['alarm', 'event', 'telemetry'] as const satisfies readonly EventKind[];
export type Lane = (typeof LANES)[number];
export const ALARM = 0;
export const EVENT = 1;
export const TELEMETRY = 2;

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
      payload TEXT NOT NULL,
      -- A range row: the telemetry with seqs first_seq..seq (topic and payload empty) and how
      -- many messages it holds; NULL and 1 for a row of one message (journal migration 3).
      first_seq INTEGER,
      messages INTEGER NOT NULL DEFAULT 1
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
