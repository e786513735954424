import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { Journal } from './journal.js';
import { migrate, type Migration, SCHEMA_VERSION, schemaVersion } from './migrations.js';

const FIXTURE = new URL('./testing/release-0.db', import.meta.url).pathname;
const opts = (path: string) => ({ path, synchronous: 'FULL' as const, retention: { maxAgeDays: 36500, maxSizeMB: 100 } });

function copyOfRelease0(): string {
  const path = join(mkdtempSync(join(tmpdir(), 'migrate-')), 'gateway.db');
  copyFileSync(FIXTURE, path);
  return path;
}

describe('journal schema migrations', () => {
  it('upgrades a database written by the release before versioning, keeping its events', () => {
    const path = copyOfRelease0();
    const before = new Database(path, { readonly: true });
    expect(schemaVersion(before)).toBe(0);
    before.close();

    const journal = new Journal(opts(path));
    expect(journal.migrated.map((m) => m.version)).toEqual([1, 2, 3]);
    expect(schemaVersion(journal.db)).toBe(SCHEMA_VERSION);
    expect(journal.query().map((e) => [e.seq, e.type])).toEqual([
      [1, 'gas.reading'],
      [2, 'gas.alarm.high'],
      [3, 'gas.reading'],
    ]);
    expect(journal.lastSeq()).toBe(3);
    const log = journal.db.prepare('SELECT version, name FROM schema_migrations ORDER BY version').all();
    expect(log).toEqual([
      { version: 1, name: expect.stringContaining('events') },
      { version: 2, name: expect.stringContaining('device index') },
      { version: 3, name: expect.stringContaining('outbox') },
    ]);
    // Version 2: no per-device index on events (the device index file serves device queries).
    const indexes = journal.db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events' AND sql IS NOT NULL").all();
    expect(indexes).toEqual([{ name: 'events_type' }, { name: 'events_time' }]);
    const devices = [...new Set(journal.query().map((e) => e.device.id))];
    for (const d of devices) expect(journal.query({ device: d }).every((e) => e.device.id === d)).toBe(true);
    expect(devices.flatMap((d) => journal.query({ device: d })).length).toBe(3);
    journal.close();

    const again = new Journal(opts(path));
    expect(again.migrated).toEqual([]);
    again.close();
  });

  it('a new database starts at the current version', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'migrate-')), 'new.db');
    const journal = new Journal(opts(path));
    expect(schemaVersion(journal.db)).toBe(SCHEMA_VERSION);
    expect(journal.count()).toBe(0);
    journal.close();
  });

  it('refuses a database of a newer release and says how to roll back', () => {
    const path = copyOfRelease0();
    const db = new Database(path);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    expect(() => new Journal(opts(path))).toThrow(
      new RegExp(`schema version ${SCHEMA_VERSION + 1}, newer than this release knows \\(up to ${SCHEMA_VERSION}\\)`),
    );
    const after = new Database(path, { readonly: true });
    expect(schemaVersion(after)).toBe(SCHEMA_VERSION + 1); // untouched
    after.close();
  });

  it('runs pending migrations in order in one transaction: a failing one leaves the database as it was', () => {
    const db = new Database(':memory:');
    const order: number[] = [];
    const steps: Migration[] = [
      { version: 2, name: 'b', up: (d) => (order.push(2), d.exec('ALTER TABLE t ADD COLUMN b TEXT')) },
      { version: 1, name: 'a', up: (d) => (order.push(1), d.exec('CREATE TABLE t (a TEXT)')) },
    ];
    expect(migrate(db, ':memory:', steps).map((m) => m.version)).toEqual([1, 2]);
    expect(order).toEqual([1, 2]);
    expect(schemaVersion(db)).toBe(2);

    const broken: Migration[] = [
      ...steps,
      { version: 3, name: 'c', up: (d) => d.exec('ALTER TABLE t ADD COLUMN c TEXT') },
      { version: 4, name: 'bad', up: (d) => d.exec('ALTER TABLE missing ADD COLUMN d TEXT') },
    ];
    expect(() => migrate(db, ':memory:', broken)).toThrow(/missing/);
    expect(schemaVersion(db)).toBe(2);
    expect(db.prepare('SELECT name FROM pragma_table_info(?)').all('t')).toEqual([{ name: 'a' }, { name: 'b' }]);
    db.close();
  });
});
