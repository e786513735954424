/**
 * Durable alarm state in the journal's SQLite database: alarms (active and ended), pending
 * `for` timers and sliding-window entries. Alarm transitions are written inside the journal
 * transaction that stores their event (see AlarmEngine), so state and event commit together:
 * each write goes through a `TxWriter`, that transaction's or `direct` (at once).
 */
import type Database from 'better-sqlite3';
import type { Alarm } from '../core/alarm-types.js';
import { DirectWriter, type TxWriter } from '../journal/tx-writer.js';

const SQL = {
  save: `INSERT INTO alarms (id, key, rule, subject, active, state, severity, raised_at, updated_at, body)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT(id) DO UPDATE SET active = excluded.active, state = excluded.state, severity = excluded.severity,
      updated_at = excluded.updated_at, body = excluded.body`,
  savePending: 'INSERT OR REPLACE INTO alarm_pending (key, rule, subject, started_at, due_at, trigger) VALUES (?, ?, ?, ?, ?, ?)',
  deletePending: 'DELETE FROM alarm_pending WHERE key = ?',
  addWindow: 'INSERT INTO alarm_window (key, device_id, at) VALUES (?, ?, ?)',
  pruneWindow: 'DELETE FROM alarm_window WHERE key = ? AND at < ?',
  clearWindow: 'DELETE FROM alarm_window WHERE key = ?',
};

export interface PendingTimer {
  key: string;
  rule: string;
  subject: string;
  startedAt: number;
  dueAt: number;
  /** The event that started the timer (JSON of the envelope). */
  trigger: string;
}

export interface WindowEntry {
  deviceId: string;
  at: number;
}

export class AlarmStore {
  private readonly st;
  /** Writes at once, on the journal's connection. */
  readonly direct: TxWriter;

  constructor(readonly db: Database.Database) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS alarms (
        id TEXT PRIMARY KEY,
        key TEXT NOT NULL,
        rule TEXT NOT NULL,
        subject TEXT NOT NULL,
        active INTEGER NOT NULL,
        state TEXT NOT NULL,
        severity TEXT NOT NULL,
        raised_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        body TEXT NOT NULL
      );
      CREATE UNIQUE INDEX IF NOT EXISTS alarms_one_active ON alarms (key) WHERE active = 1;
      CREATE INDEX IF NOT EXISTS alarms_raised ON alarms (raised_at);
      CREATE TABLE IF NOT EXISTS alarm_pending (
        key TEXT PRIMARY KEY,
        rule TEXT NOT NULL,
        subject TEXT NOT NULL,
        started_at INTEGER NOT NULL,
        due_at INTEGER NOT NULL,
        trigger TEXT NOT NULL
      ) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS alarm_window (
        key TEXT NOT NULL,
        device_id TEXT NOT NULL,
        at INTEGER NOT NULL
      );
      CREATE INDEX IF NOT EXISTS alarm_window_key ON alarm_window (key, at);
    `);
    this.direct = new DirectWriter(db);
    this.st = {
      active: db.prepare('SELECT body FROM alarms WHERE active = 1 ORDER BY raised_at'),
      get: db.prepare('SELECT body FROM alarms WHERE id = ?'),
      recent: db.prepare('SELECT body FROM alarms ORDER BY raised_at DESC LIMIT ?'),
      pending: db.prepare(
        'SELECT key, rule, subject, started_at AS startedAt, due_at AS dueAt, trigger FROM alarm_pending',
      ),
      windows: db.prepare('SELECT key, device_id AS deviceId, at FROM alarm_window ORDER BY at'),
    };
  }

  saveAlarm(tx: TxWriter, a: Alarm, body = JSON.stringify(a)): void {
    const raisedAt = Date.parse(a.raisedAt);
    const updatedAt = Date.parse(a.updatedAt);
    tx.run(SQL.save, a.id, `${a.rule}|${a.subject}`, a.rule, a.subject, a.active ? 1 : 0, a.state, a.severity, raisedAt, updatedAt, body);
  }

  loadActive(): Alarm[] {
    return (this.st.active.all() as { body: string }[]).map((r) => JSON.parse(r.body) as Alarm);
  }

  get(id: string): Alarm | undefined {
    const row = this.st.get.get(id) as { body: string } | undefined;
    return row && (JSON.parse(row.body) as Alarm);
  }

  recent(limit = 100): Alarm[] {
    return (this.st.recent.all(limit) as { body: string }[]).map((r) => JSON.parse(r.body) as Alarm);
  }

  savePending(tx: TxWriter, p: PendingTimer): void {
    tx.run(SQL.savePending, p.key, p.rule, p.subject, p.startedAt, p.dueAt, p.trigger);
  }

  deletePending(tx: TxWriter, key: string): void {
    tx.run(SQL.deletePending, key);
  }

  loadPending(): PendingTimer[] {
    return this.st.pending.all() as PendingTimer[];
  }

  addWindow(tx: TxWriter, key: string, e: WindowEntry, pruneBefore: number): void {
    tx.run(SQL.pruneWindow, key, pruneBefore);
    tx.run(SQL.addWindow, key, e.deviceId, e.at);
  }

  clearWindow(tx: TxWriter, key: string): void {
    tx.run(SQL.clearWindow, key);
  }

  loadWindows(): Map<string, WindowEntry[]> {
    const out = new Map<string, WindowEntry[]>();
    for (const r of this.st.windows.all() as { key: string; deviceId: string; at: number }[]) {
      const l = out.get(r.key) ?? [];
      out.set(r.key, l);
      l.push({ deviceId: r.deviceId, at: r.at });
    }
    return out;
  }
}
