import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { JournalBusy, LightWrites } from './light-writes.js';

const open: Database.Database[] = [];
afterEach(() => {
  for (const db of open.splice(0)) db.close();
});

function connection(path: string): Database.Database {
  const db = new Database(path);
  open.push(db);
  db.pragma('journal_mode = WAL');
  return db;
}

describe('light writes', () => {
  it('run without the sync at commit and, unless asked to, without waiting for the lock; the connection keeps its settings for other writes', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'light-writes-')), 'j.db');
    const db = connection(path);
    db.pragma('synchronous = FULL');
    db.pragma('busy_timeout = 5000');
    db.exec('CREATE TABLE t (v)');
    const light = new LightWrites(db);
    const settings = () => [db.pragma('synchronous', { simple: true }), db.pragma('busy_timeout', { simple: true })];
    const seen: unknown[][] = [];
    const insert = db.transaction((v: number) => {
      seen.push(settings());
      db.prepare('INSERT INTO t VALUES (?)').run(v);
    });
    light.run(() => insert.immediate(1), { waitForLock: false }); // the first run too (SQLite applies a prepared PRAGMA when it prepares it again)
    light.run(() => insert.immediate(2));
    expect(seen).toEqual([
      [1, 0], // NORMAL, no wait
      [1, 5000],
    ]);
    expect(settings()).toEqual([2, 5000]); // FULL again for every other write

    const other = connection(path);
    other.exec('BEGIN IMMEDIATE');
    expect(() => light.run(() => insert.immediate(3), { waitForLock: false })).toThrow(JournalBusy);
    other.exec('COMMIT');
    expect(settings()).toEqual([2, 5000]);
    light.run(() => insert.immediate(4), { waitForLock: false });
    expect(db.prepare('SELECT v FROM t ORDER BY v').pluck().all()).toEqual([1, 2, 4]); // 3 wrote nothing
  });
});
