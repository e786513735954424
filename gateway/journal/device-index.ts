/**
 * The journal's device index: which events (by seq) belong to which device, and of which type.
 * It lives in its own SQLite file next to the journal (`gateway.db` → `gateway.index.db`) and is
 * filled behind the appends, in large sorted chunks, by the journal's worker thread.
 *
 * Why not an index on `events`: with thousands of devices, each event of a batch lands on another
 * leaf page of a `(device_id, …)` index, and every page a transaction touches is written whole to
 * the WAL: about 4 KiB per event for a 400-byte event, the largest cost of an append. Filled in
 * chunks of thousands of events sorted by device, many entries share a page; in its own file the
 * worker writes it without ever waiting for (or holding up) the appends.
 *
 * Events above `upto` (appended since the last chunk) are not in the index yet: a query takes
 * them from the tail of `events` (a scan of up to about INDEX_EVERY rows, or at high rates
 * INDEX_MIN_INTERVAL_MS of events). Entries of events removed by retention are dropped by the
 * worker; until then a join with `events` skips them.
 * The index is derived data: when it does not belong to the journal (another journal, a restored
 * backup) it is emptied and rebuilt from `events`.
 */
import { basename, dirname, extname, join } from 'node:path';
import type Database from 'better-sqlite3';

/**
 * Events appended between two chunks of the device index, by default: also about the most a
 * query scans of the unindexed tail. A chunk touches about one leaf page per device in each of
 * the index's B-trees whatever its size, and each page goes to the index's WAL and then to its
 * file, so few large chunks write far less than many small ones. Measured with 4,000 devices and
 * a million events indexed, batches of 16 (a site at a moderate rate): chunks of 500 events made
 * the process write 23.5 KiB per event in all (journal and index) and spend 28 us of CPU on it;
 * chunks of 10,000: 12.7 KiB and 23 us.
 */
export const INDEX_EVERY = 10_000;
/**
 * At high rates a chunk holds at least this long's events (20,000/s: 40,000). Measured in the
 * pipeline benchmark at 20,000 events/s with 4,000 devices: a chunk every 10,000 events cost the
 * worker 12.0-12.6 us of CPU per event, one every 2 s 8.2-8.9 us. The unindexed tail is then up
 * to 2 s of events.
 */
export const INDEX_MIN_INTERVAL_MS = 2_000;
/** Events indexed per chunk (one transaction of the index file). */
export const INDEX_CHUNK = 60_000;

/**
 * The index file's page size. A chunk touches about one leaf page per device in each of its two
 * B-trees whatever the chunk's size (4,000 devices: 8,000 pages), and each page is written whole
 * to the index's WAL and again to its file. Its entries are small (about 40 bytes), so with
 * SQLite's default 4 KiB pages a chunk of 10,000 events wrote about 32 MiB twice, without an fsync
 * of its own: the kernel wrote it back later, and the journal's WAL fsyncs that the filesystem
 * committed together with that write-back took 100 ms to a second (most take under 1 ms), which
 * alarms waited for. 1 KiB pages write a quarter of that.
 */
export const INDEX_PAGE_BYTES = 1024;

/** The index file of a journal file; ':memory:' for an in-memory journal. */
export function indexFileOf(journalPath: string): string {
  if (journalPath === ':memory:') return ':memory:';
  const ext = extname(journalPath);
  return join(dirname(journalPath), `${basename(journalPath, ext)}.index${ext || '.db'}`);
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS idx.by_device (
    device_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    type TEXT NOT NULL,
    PRIMARY KEY (device_id, seq)
  ) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS idx.by_device_type ON by_device (device_id, type, seq);
  CREATE TABLE IF NOT EXISTS idx.state (key TEXT PRIMARY KEY, value) WITHOUT ROWID;
  INSERT OR IGNORE INTO idx.state (key, value) VALUES ('upto', 0), ('journal', '');
`;

/**
 * The statements of one chunk, run the same way by the worker and (fallback, in-memory journals)
 * the journal's own connection: `next` gives the last seq of the next chunk, `insert` and `upto`
 * (with it) store the chunk in one transaction, `prune` drops the entries of removed events.
 */
export const CHUNK_SQL = {
  next: `SELECT MIN(COALESCE((SELECT MAX(seq) FROM main.events), 0), (SELECT value FROM idx.state WHERE key = 'upto') + ${INDEX_CHUNK}) AS last, (SELECT value FROM idx.state WHERE key = 'upto') AS upto`,
  insert: `INSERT OR IGNORE INTO idx.by_device (device_id, seq, type)
    SELECT device_id, seq, type FROM main.events WHERE seq > ? AND seq <= ? ORDER BY device_id, seq`,
  upto: `UPDATE idx.state SET value = ? WHERE key = 'upto'`,
  prune: `DELETE FROM idx.by_device WHERE seq < (SELECT COALESCE(MIN(seq), 0) FROM main.events)`,
};

/** The seq up to which the index is complete, for a query (`seq > UPTO` is the unindexed tail). */
export const UPTO = `(SELECT value FROM idx.state WHERE key = 'upto')`;

/**
 * Attaches the index file to `db` (a connection to the journal) as `idx`, creates it if needed,
 * and empties it when it was built from another journal or from more events than this one has.
 * Returns the seq up to which it is complete.
 */
export function attachDeviceIndex(
  db: Database.Database,
  journalPath: string,
  journalId: string,
  lastSeq: number,
  cacheKiB: number,
): number {
  db.prepare('ATTACH DATABASE ? AS idx').run(indexFileOf(journalPath));
  // Takes effect when the file is new. An index file of an earlier release keeps its page size
  // (SQLite cannot change it in WAL mode); deleted while the gateway is stopped, it is rebuilt with these.
  db.pragma(`idx.page_size = ${INDEX_PAGE_BYTES}`);
  if (journalPath !== ':memory:') db.pragma('idx.journal_mode = WAL');
  // Derived data, rebuilt when lost: no fsync of its own.
  db.pragma('idx.synchronous = OFF');
  db.pragma(`idx.cache_size = -${cacheKiB}`);
  db.exec(SCHEMA);
  const state = Object.fromEntries(
    (db.prepare('SELECT key, value FROM idx.state').all() as { key: string; value: string | number }[]).map((r) => [r.key, r.value]),
  );
  if (state.journal === journalId && Number(state.upto) <= lastSeq) return Number(state.upto);
  db.transaction(() => {
    db.exec('DELETE FROM idx.by_device');
    db.prepare("UPDATE idx.state SET value = ? WHERE key = 'journal'").run(journalId);
    db.prepare("UPDATE idx.state SET value = 0 WHERE key = 'upto'").run();
  })();
  return 0;
}

/** Indexes the next chunk on `db` (the journal's connection with the index attached); returns how many seqs it covered. */
export function indexChunk(db: Database.Database): number {
  const { last, upto } = db.prepare(CHUNK_SQL.next).get() as { last: number; upto: number };
  if (last <= upto) return 0;
  db.transaction(() => {
    db.prepare(CHUNK_SQL.insert).run(upto, last);
    db.prepare(CHUNK_SQL.upto).run(last);
  })();
  return last - upto;
}

/**
 * `seq IN (…)`: the seqs of the events of the devices `@d0`, `@d1`… (named parameters, see
 * `deviceParams`), from the index and from the unindexed tail. `where` is a further condition on
 * columns both have (`seq`, `type`, `device_id`); `newest` keeps only the newest that many index
 * rows (a query for the newest events with no other condition on `events` then reads no more).
 */
export function ofDevices(count: number, o: { where?: string; newest?: string } = {}): string {
  const ids = Array.from({ length: count }, (_, i) => `@d${i}`).join(', ');
  const and = o.where ? ` AND ${o.where}` : '';
  const indexed = `SELECT seq FROM idx.by_device WHERE device_id IN (${ids})${and}`;
  const fromIndex = o.newest ? `SELECT seq FROM (${indexed} ORDER BY seq DESC LIMIT ${o.newest})` : indexed;
  return `seq IN (${fromIndex} UNION ALL SELECT seq FROM main.events WHERE seq > ${UPTO} AND device_id IN (${ids})${and})`;
}

/** The named parameters of `ofDevices`. */
export function deviceParams(devices: readonly string[]): Record<string, string> {
  return Object.fromEntries(devices.map((d, i) => [`d${i}`, d]));
}
