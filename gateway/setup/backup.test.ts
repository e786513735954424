import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import * as tar from 'tar';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/load.js';
import { freePort } from '../core/free-port.js';
import { createLogger } from '../core/logger.js';
import { type Gateway, startGateway } from '../gateway.js';
import { Journal } from '../journal/journal.js';
import { SCHEMA_VERSION, schemaVersion } from '../journal/migrations.js';
import { runCli } from '../testing/run-cli.js';

const RELEASE_0 = new URL('../journal/testing/release-0.db', import.meta.url).pathname;
let gw: Gateway | undefined;
afterEach(async () => {
  await gw?.close();
  gw = undefined;
});

async function siteIn(dir: string): Promise<string> {
  const file = join(dir, 'site.yaml');
  writeFileSync(
    file,
    [
      'site: { id: sunshine-garden }',
      'gateway: { id: gw-01 }',
      'broker: { listeners: [{ type: tcp, host: 127.0.0.1, port: 0 }] }',
      `journal: { path: ${JSON.stringify(join(dir, 'data/gateway.db'))} }`,
      `http: { host: 127.0.0.1, port: ${await freePort()} }`,
      '',
    ].join('\n'),
  );
  return file;
}

const eventSeqs = (db: string) => {
  const j = new Journal({ path: db, synchronous: 'NORMAL', retention: { maxAgeDays: 36500, maxSizeMB: 100 } });
  try {
    return j.query().map((e) => e.seq);
  } finally {
    j.close();
  }
};

describe('gateway backup and restore', () => {
  it('backs up a running gateway (an upgraded database); restore refuses while it runs, then puts it back and keeps the old one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'backup-'));
    const site = await siteIn(dir);
    const cfg = loadConfig(site);
    const db = cfg.journal.path;
    // The database of the release before schema versions, upgraded as the gateway opens it.
    mkdirSync(join(dir, 'data/files/gate-b1'), { recursive: true });
    writeFileSync(join(dir, 'data/files/gate-b1/1.jpg'), 'jpeg');
    copyFileSync(RELEASE_0, db);
    gw = await startGateway(cfg, createLogger('error'));

    const archive = join(dir, 'before-upgrade.tar.gz');
    const b = await runCli(['backup', '--config', site, '--out', archive]);
    expect(b.stderr).toBe('');
    expect(b.code).toBe(0);
    expect(b.stdout).toContain(`backup of sunshine-garden/gw-01 (database schema ${SCHEMA_VERSION}`);
    const members: string[] = [];
    await tar.list({ file: archive, onReadEntry: (e) => members.push(e.path) });
    expect(members.sort()).toEqual(['files-index.json', 'gateway.db', 'manifest.json', 'site.yaml']);

    const refused = await runCli(['restore', '--config', site, archive]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`the gateway of ${site} is running (http://127.0.0.1:${cfg.http.port}/healthz answers)`);
    expect(refused.stderr).toContain('stop it first');
    await gw.close();
    gw = undefined;

    // Events written after the backup are what the restore takes away (and keeps aside).
    const j = new Journal({ path: db, synchronous: 'NORMAL', retention: { maxAgeDays: 36500, maxSizeMB: 100 } });
    j.db.prepare("INSERT INTO events (seq, id, received_at, device_id, family, type, kind, severity, body) VALUES (99, 'late', 0, 'd', 'f', 't', 'event', 'info', ?)").run(JSON.stringify({ seq: 99 }));
    j.close();
    writeFileSync(site, `${readFileSync(site, 'utf8')}# changed after the backup\n`);

    const r = await runCli(['restore', '--config', site, archive]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`the database it replaced: ${db}.before-restore`);
    expect(r.stdout).toContain(`it is in ${join(dir, 'data/site.yaml.from-backup')}`);
    expect(eventSeqs(db)).toEqual([1, 2, 3]);
    expect(eventSeqs(`${db}.before-restore`)).toEqual([1, 2, 3, 99]);
    expect(readFileSync(join(dir, 'data/site.yaml.from-backup'), 'utf8')).not.toContain('changed after the backup');

    const again = await runCli(['restore', '--config', site, archive]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain(`${db}.before-restore exists`);
    const x = join(dir, 'x');
    mkdirSync(x);
    await tar.extract({ file: archive, cwd: x });
    expect(JSON.parse(readFileSync(join(x, 'files-index.json'), 'utf8'))).toEqual([
      { path: 'gate-b1/1.jpg', size: 4, modified: expect.any(String) },
    ]);
    expect(JSON.parse(readFileSync(join(x, 'manifest.json'), 'utf8'))).toMatchObject({ site: 'sunshine-garden', gateway: 'gw-01', schemaVersion: SCHEMA_VERSION });
  }, 180_000);

  it('refuses a backup of a newer release and a file that is no backup, changing nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'backup-'));
    const site = await siteIn(dir);
    const cfg = loadConfig(site);
    mkdirSync(join(dir, 'data'));
    copyFileSync(RELEASE_0, cfg.journal.path);
    const archive = join(dir, 'b.tar.gz');
    expect((await runCli(['backup', '--config', site, '--out', archive])).code).toBe(0);

    // The same archive with the database of a newer release.
    const x = join(dir, 'x');
    mkdirSync(x);
    await tar.extract({ file: archive, cwd: x });
    const newer = new Database(join(x, 'gateway.db'));
    newer.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    newer.close();
    const newerArchive = join(dir, 'newer.tar.gz');
    await tar.create({ gzip: true, file: newerArchive, cwd: x }, ['manifest.json', 'gateway.db', 'site.yaml', 'files-index.json']);
    const r = await runCli(['restore', '--config', site, newerArchive]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`has database schema version ${SCHEMA_VERSION + 1}, newer than this release knows (up to ${SCHEMA_VERSION})`);

    writeFileSync(join(dir, 'junk.tar.gz'), 'not an archive');
    const junk = await runCli(['restore', '--config', site, join(dir, 'junk.tar.gz')]);
    expect(junk.code).toBe(1);
    expect(junk.stderr).toContain('is not a gateway backup archive');
    expect(existsSync(`${cfg.journal.path}.before-restore`)).toBe(false);
    const still = new Database(cfg.journal.path, { readonly: true });
    expect(schemaVersion(still)).toBe(0); // never opened by a gateway: as the old release left it
    still.close();
  }, 180_000);

  it('a backup taken while another connection keeps writing holds one moment of the database (whole batches, no gap)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'backup-'));
    const site = await siteIn(dir);
    const cfg = loadConfig(site);
    const j = new Journal({ path: cfg.journal.path, synchronous: 'NORMAL', retention: { maxAgeDays: 36500, maxSizeMB: 1000 } });
    const insert = j.db.prepare("INSERT INTO events (seq, id, received_at, device_id, family, type, kind, severity, body) VALUES (?, ?, 0, 'd', 'f', 't', 'event', 'info', ?)");
    const batch = j.db.transaction((from: number) => {
      for (let s = from; s < from + 100; s++) insert.run(s, `e${s}`, 'x'.repeat(300));
    });
    for (let b = 0; b < 100; b++) batch(1 + b * 100); // 10,000 events, a few MB
    let next = 10_001;
    let writing = true;
    const writer = (async () => {
      // A batch every turn of the event loop, as long as the backup runs (at most 2,000 batches).
      for (let b = 0; writing && b < 2000; b++, next += 100) {
        batch(next);
        await new Promise((r) => setImmediate(r));
      }
    })();
    const { backup } = await import('./backup.js');
    const out = join(dir, 'b.tar.gz');
    await backup(cfg, site, out);
    writing = false;
    await writer;
    j.close();
    const x = join(dir, 'x');
    mkdirSync(x);
    await tar.extract({ file: out, cwd: x });
    const copy = new Database(join(x, 'gateway.db'), { readonly: true });
    expect(copy.pragma('integrity_check', { simple: true })).toBe('ok');
    const { n, max } = copy.prepare('SELECT COUNT(*) AS n, MAX(seq) AS max FROM events').get() as { n: number; max: number };
    copy.close();
    expect(n).toBeGreaterThanOrEqual(10_000);
    expect(n).toBe(max); // whole batches, no gap: one moment's state
    expect(n % 100).toBe(0);
  }, 120_000);
});
