/**
 * Durable key-value state of driver instances (`DriverStore`), one table in the gateway's
 * database: a push driver keeps e.g. the last event serial number it fetched across restarts.
 */
import type Database from 'better-sqlite3';
import type { DriverStore } from './driver-api.js';

export function ensureDriverStateTable(db: Database.Database): void {
  db.exec(`CREATE TABLE IF NOT EXISTS driver_state (
    driver TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (driver, key)
  )`);
}

/** The store of one driver instance; `now` stamps `updated_at` (wall time, ms). */
export function driverStore(db: Database.Database, driver: string, now: () => number): DriverStore {
  ensureDriverStateTable(db);
  const get = db.prepare<[string, string], { value: string }>(
    'SELECT value FROM driver_state WHERE driver = ? AND key = ?',
  );
  const put = db.prepare<[string, string, string, number]>(
    `INSERT INTO driver_state (driver, key, value, updated_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (driver, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
  );
  const del = db.prepare<[string, string]>('DELETE FROM driver_state WHERE driver = ? AND key = ?');
  // Prefix match by range, not LIKE: keys may hold `%` or `_`.
  const range = db.prepare<[string, string, string], { key: string; value: string }>(
    'SELECT key, value FROM driver_state WHERE driver = ? AND key >= ? AND key < ? ORDER BY key',
  );
  const all = db.prepare<[string], { key: string; value: string }>(
    'SELECT key, value FROM driver_state WHERE driver = ? ORDER BY key',
  );
  return {
    get<T>(key: string): T | undefined {
      const row = get.get(driver, key);
      return row ? (JSON.parse(row.value) as T) : undefined;
    },
    set(key, value) {
      const json = JSON.stringify(value);
      if (json === undefined) throw new TypeError(`store value of "${key}" is not JSON`);
      put.run(driver, key, json, now());
    },
    delete(key) {
      del.run(driver, key);
    },
    entries<T>(prefix = ''): [string, T][] {
      const rows = prefix ? range.all(driver, prefix, `${prefix}\u{10FFFF}`) : all.all(driver);
      return rows.map((r) => [r.key, JSON.parse(r.value) as T]);
    },
  };
}
