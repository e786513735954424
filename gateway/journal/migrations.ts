/**
 * Schema versions of the gateway's database. The version is `PRAGMA user_version` (0 for a
 * database written before versioning). At open, the migrations above the database's version
 * run in order, all in one transaction with the new version (a failure leaves the database as
 * it was), and each is recorded in `schema_migrations`. A database of a newer version than this
 * release knows is refused: its tables may mean something this release does not understand.
 *
 * Adding a migration: append it with the next version; never change one that has shipped.
 */
import { randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
import { GatewayError } from '../core/errors.js';

export interface Migration {
  version: number;
  /** What it changes, in a few words (kept in schema_migrations). */
  name: string;
  up(db: Database.Database): void;
}

export interface AppliedMigration {
  version: number;
  name: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'journal events and meta tables (the schema of the releases before versioning)',
    up: (db) =>
      db.exec(`
        CREATE TABLE IF NOT EXISTS events (
          seq INTEGER PRIMARY KEY,
          id TEXT NOT NULL UNIQUE,
          received_at INTEGER NOT NULL,
          device_id TEXT NOT NULL,
          family TEXT NOT NULL,
          type TEXT NOT NULL,
          kind TEXT NOT NULL,
          severity TEXT NOT NULL,
          body TEXT NOT NULL
        );
        CREATE INDEX IF NOT EXISTS events_device ON events (device_id, seq);
        CREATE INDEX IF NOT EXISTS events_type ON events (type, seq);
        CREATE INDEX IF NOT EXISTS events_time ON events (received_at);
        CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID;
      `),
  },
  {
    version: 2,
    name: 'device indexes move to the device index file; the journal gets an id',
    up: (db) => {
      // Maintained in every append, with thousands of devices these cost about as much as the rest
      // of the append together (one leaf page written per event); see device-index.ts.
      db.exec('DROP INDEX IF EXISTS events_device; DROP INDEX IF EXISTS events_device_type;');
      db.prepare("INSERT OR IGNORE INTO meta (key, value) VALUES ('journal_id', ?)").run(randomUUID());
    },
  },
  {
    version: 3,
    name: 'uplink outbox: one row per transaction of telemetry, its readings read from the events',
    up: (db) => {
      // The outbox is created by the uplink when it first runs: a database without one gets these columns then.
      const outbox = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'outbox'").get();
      if (outbox) db.exec('ALTER TABLE outbox ADD COLUMN first_seq INTEGER; ALTER TABLE outbox ADD COLUMN messages INTEGER NOT NULL DEFAULT 1;');
    },
  },
];

/** The schema version this release writes. */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

export function schemaVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/** Refuses a database of a newer schema than `latest` (what a rollback without restore meets). */
export function checkNotNewer(version: number, latest: number, path: string): void {
  if (version <= latest) return;
  throw new GatewayError(
    'JOURNAL_OPEN',
    `${path} has database schema version ${version}, newer than this release knows (up to ${latest}): it was written by a newer gateway release`,
    'run the newer release again, or roll back: stop the gateway and `gateway restore --config <site.yaml> <backup taken before the upgrade>` (docs/OPERATIONS.md, "Rollback")',
  );
}

/** Brings `db` to the newest version of `migrations`; returns what it applied (empty when current). */
export function migrate(
  db: Database.Database,
  path: string,
  migrations: readonly Migration[] = MIGRATIONS,
): AppliedMigration[] {
  const ordered = [...migrations].sort((a, b) => a.version - b.version);
  const latest = ordered[ordered.length - 1]?.version ?? 0;
  const current = schemaVersion(db);
  checkNotNewer(current, latest, path);
  const pending = ordered.filter((m) => m.version > current);
  if (!pending.length) return [];
  db.transaction(() => {
    db.exec(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)',
    );
    const log = db.prepare('INSERT OR REPLACE INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
    for (const m of pending) {
      m.up(db);
      log.run(m.version, m.name, Date.now());
    }
    db.pragma(`user_version = ${latest}`);
  })();
  return pending.map(({ version, name }) => ({ version, name }));
}
