/**
 * Writes that belong to a journal transaction. What a transaction hook writes (the uplink's
 * outbox rows, the alarm state an event changes) goes through a `TxWriter`: recorded as data and
 * run by the journal's writer thread in the transaction of the events (append-thread.ts), or run
 * at once on a connection (`DirectWriter`: the journal's own appends, and writes of their own).
 */
import type Database from 'better-sqlite3';

export type SqlValue = string | number | bigint | null;

export interface TxWriter {
  /** One write statement (`sql` a constant: each text is prepared once) with its parameters. */
  run(sql: string, ...params: SqlValue[]): void;
}

/** Runs each write at once on `db` (in the caller's transaction, if any). */
export class DirectWriter implements TxWriter {
  private readonly prepared = new Map<string, Database.Statement>();

  constructor(private readonly db: Database.Database) {}

  run(sql: string, ...params: SqlValue[]): void {
    let st = this.prepared.get(sql);
    if (!st) this.prepared.set(sql, (st = this.db.prepare(sql)));
    st.run(...params);
  }
}

/**
 * Records writes as a flat list, `[statement, parameter count, ...parameters]` per write, the
 * statement by its number in the `statements` list (new texts are added at its end).
 */
export class WriteRecorder implements TxWriter {
  ops: SqlValue[] = [];
  private readonly ids = new Map<string, number>();
  readonly statements: string[] = [];

  run(sql: string, ...params: SqlValue[]): void {
    let id = this.ids.get(sql);
    if (id === undefined) {
      id = this.statements.push(sql) - 1;
      this.ids.set(sql, id);
    }
    this.ops.push(id, params.length, ...params);
  }

  /** The writes recorded since the last call (and the recorder starts a new list). */
  take(): SqlValue[] {
    const ops = this.ops;
    this.ops = [];
    return ops;
  }
}
