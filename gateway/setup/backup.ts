/**
 * Backup and restore of a gateway's state: one .tar.gz (the `tar` package) holding
 *
 *   manifest.json     what this is: site, gateway, release, database schema version, time
 *   gateway.db        the database (events, outbox, alarms, driver state), copied with SQLite's
 *                     online backup API: consistent while the gateway runs and writes
 *   site.yaml         the site file
 *   files-index.json  the list of the files the drivers keep beside it (gate pictures, camera
 *                     snapshots: name, size, time), not the files themselves
 *
 * Restore refuses while the gateway runs (its ops server answers /healthz), keeps the database
 * it replaces as `<journal>.before-restore`, and writes the archived site file beside the
 * database as `<site file name>.from-backup` when it differs from the current one. A backup of a
 * newer release is refused.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import Database from 'better-sqlite3';
import * as tar from 'tar';
import type { SiteConfig } from '../../config/schema.js';
import { errorMessage, GatewayError } from '../core/errors.js';
import { VERSION } from '../core/version.js';
import { checkNotNewer, SCHEMA_VERSION, schemaVersion } from '../journal/migrations.js';

const FORMAT = 'compound-gateway-backup';
const MEMBERS = ['manifest.json', 'gateway.db', 'site.yaml', 'files-index.json'];

export interface Manifest {
  format: typeof FORMAT;
  createdAt: string;
  release: string;
  schemaVersion: number;
  site: string;
  gateway: string;
  siteFile: string;
  journal: string;
}

const fail = (message: string, hint: string, cause?: unknown) =>
  new GatewayError('JOURNAL_OPEN', message, hint, cause === undefined ? undefined : { cause });

/** Writes the backup archive `out` (atomically: a partial file never has the final name). */
export async function backup(cfg: SiteConfig, siteFile: string, out: string): Promise<Manifest> {
  const dir = mkdtempSync(join(tmpdir(), 'gateway-backup-'));
  try {
    let db: Database.Database;
    try {
      db = new Database(cfg.journal.path, { readonly: true, fileMustExist: true });
    } catch (err) {
      throw fail(`cannot open the database ${cfg.journal.path}: ${errorMessage(err)}`, 'check journal.path in the site file; the gateway creates the database when it first runs', err);
    }
    let version: number;
    try {
      version = schemaVersion(db);
      // After the first step (which only counts the pages) all pages are copied in one step: a
      // copy made in small steps starts over whenever the gateway writes, and might never end.
      await db.backup(join(dir, 'gateway.db'), { progress: () => 0x7fffffff });
    } finally {
      db.close();
    }
    copyFileSync(siteFile, join(dir, 'site.yaml'));
    writeFileSync(join(dir, 'files-index.json'), `${JSON.stringify(filesIndex(join(dirname(cfg.journal.path), 'files')), null, 1)}\n`);
    const manifest: Manifest = {
      format: FORMAT,
      createdAt: new Date().toISOString(),
      release: VERSION,
      schemaVersion: version,
      site: cfg.site.id,
      gateway: cfg.gateway.id,
      siteFile,
      journal: cfg.journal.path,
    };
    writeFileSync(join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    const partial = `${out}.partial`;
    await tar.create({ gzip: true, file: partial, cwd: dir, portable: true }, MEMBERS);
    renameSync(partial, out);
    return manifest;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function filesIndex(root: string): { path: string; size: number; modified: string }[] {
  if (!existsSync(root)) return [];
  const out: { path: string; size: number; modified: string }[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) {
        const st = statSync(p);
        out.push({ path: relative(root, p), size: st.size, modified: st.mtime.toISOString() });
      }
    }
  };
  walk(root);
  return out;
}

/** The gateway's /healthz URL from the site file (a wildcard address is asked on loopback). */
export function healthUrl(cfg: SiteConfig): string {
  const host = cfg.http.host === '0.0.0.0' ? '127.0.0.1' : cfg.http.host === '::' ? '::1' : cfg.http.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${cfg.http.port}/healthz`;
}

async function answers(url: string): Promise<boolean> {
  try {
    await fetch(url, { signal: AbortSignal.timeout(3000) });
    return true;
  } catch {
    return false; // refused or no answer: nothing runs there
  }
}

export interface RestoreResult {
  manifest: Manifest;
  /** Where the replaced database went (undefined when there was none). */
  before?: string;
  /** Where the archived site file was written when it differs from the current one. */
  siteFromBackup?: string;
}

export async function restore(cfg: SiteConfig, siteFile: string, archive: string): Promise<RestoreResult> {
  const url = healthUrl(cfg);
  if (await answers(url)) {
    throw new GatewayError('USAGE', `the gateway of ${siteFile} is running (${url} answers): restore replaces its database`, 'stop it first (e.g. `systemctl stop compound-gateway`), restore, then start it again');
  }
  const journal = cfg.journal.path;
  const before = `${journal}.before-restore`;
  if (existsSync(before)) {
    throw new GatewayError('USAGE', `${before} exists (the database kept by an earlier restore)`, `move it elsewhere (or delete it once you no longer need it), then restore again`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'gateway-restore-'));
  try {
    try {
      await tar.extract({ file: archive, cwd: dir, strict: true, filter: (p) => MEMBERS.includes(p.replace(/^\.\//, '')) });
    } catch (err) {
      throw fail(`${archive} is not a gateway backup archive: ${errorMessage(err)}`, 'give a file written by `gateway backup`', err);
    }
    const manifest = readManifest(dir, archive);
    const db = new Database(join(dir, 'gateway.db'), { readonly: true });
    try {
      checkNotNewer(schemaVersion(db), SCHEMA_VERSION, `the backup ${basename(archive)}`);
      const check = db.pragma('quick_check', { simple: true });
      if (check !== 'ok') throw fail(`the database in ${archive} is damaged: ${String(check)}`, 'restore another backup');
    } finally {
      db.close();
    }
    // The archived site file, when it differs, goes beside the database: whoever may restore the
    // database may write there (the site file's folder is often the administrator's only).
    mkdirSync(dirname(journal), { recursive: true }); // a new machine: nothing there yet
    let siteFromBackup: string | undefined;
    const archived = readFileSync(join(dir, 'site.yaml'), 'utf8');
    if (!existsSync(siteFile) || readFileSync(siteFile, 'utf8') !== archived) {
      siteFromBackup = join(dirname(journal), `${basename(siteFile)}.from-backup`);
      writeFileSync(siteFromBackup, archived, { mode: 0o640 });
    }
    const incoming = `${journal}.restoring`;
    copyFileSync(join(dir, 'gateway.db'), incoming);
    const hadDb = existsSync(journal);
    // The database and its WAL and shared-memory files move together (SQLite finds `<db>-wal` by name).
    for (const suffix of ['', '-wal', '-shm']) if (existsSync(journal + suffix)) renameSync(journal + suffix, before + suffix);
    renameSync(incoming, journal);
    return { manifest, before: hadDb ? before : undefined, siteFromBackup };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function readManifest(dir: string, archive: string): Manifest {
  const bad = (why: string) => fail(`${archive} is not a gateway backup archive: ${why}`, 'give a file written by `gateway backup`');
  for (const m of MEMBERS) if (!existsSync(join(dir, m))) throw bad(`${m} is missing`);
  let manifest: Manifest;
  try {
    manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
  } catch (err) {
    throw bad(`manifest.json: ${errorMessage(err)}`);
  }
  if (manifest.format !== FORMAT) throw bad(`manifest.json names format "${String(manifest.format)}"`);
  return manifest;
}
