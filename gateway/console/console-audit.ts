/**
 * The console's audit trail: every action a person takes on the console (login, logout,
 * acknowledge, resolve, reset, and the device commands of other pages: door open, siren, valve,
 * charging pile) is one row of `console_audit` in the journal's database. Pages record through
 * `record`; admins read it on the Audit page (`GET /console/api/audit`).
 */
import type Database from 'better-sqlite3';

export interface AuditEntry {
  id: number;
  /** ISO time. */
  at: string;
  user: string;
  role: string;
  /** Remote address of the request. */
  from: string;
  /** e.g. `login`, `ack`, `resolve`, `reset`, `door.open`. */
  action: string;
  /** What it was done to: an alarm id, a device id; empty for login and logout. */
  target: string;
  note?: string;
  /** `ok`, or why it failed (`refused: ...`, `failed: ...`). */
  result: string;
}

export type AuditRecord = Omit<AuditEntry, 'id' | 'at' | 'note'> & { at?: string; note?: string };

export class ConsoleAudit {
  private readonly insert: Database.Statement;
  private readonly page: Database.Statement;

  constructor(
    db: Database.Database,
    private readonly now: () => number = Date.now,
  ) {
    db.exec(`CREATE TABLE IF NOT EXISTS console_audit (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      at TEXT NOT NULL, user TEXT NOT NULL, role TEXT NOT NULL, "from" TEXT NOT NULL,
      action TEXT NOT NULL, target TEXT NOT NULL, note TEXT, result TEXT NOT NULL)`);
    this.insert = db.prepare(
      `INSERT INTO console_audit (at, user, role, "from", action, target, note, result)
       VALUES (@at, @user, @role, @from, @action, @target, @note, @result)`,
    );
    this.page = db.prepare(`SELECT * FROM console_audit WHERE id < ? ORDER BY id DESC LIMIT ?`);
  }

  record(r: AuditRecord): void {
    this.insert.run({ ...r, at: r.at ?? new Date(this.now()).toISOString(), note: r.note ?? null });
  }

  /** Newest first; `before` (an entry id) pages back. */
  list(o: { limit?: number; before?: number } = {}): AuditEntry[] {
    const limit = Math.min(Math.max(o.limit ?? 100, 1), 1000);
    const rows = this.page.all(o.before ?? Number.MAX_SAFE_INTEGER, limit) as (AuditEntry & { note: string | null })[];
    return rows.map(({ note, ...r }) => (note === null ? r : { ...r, note }));
  }
}
