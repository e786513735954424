/**
 * kill -9 of the gateway process during a drain (and while events keep coming), then a
 * restart: every event committed to the journal reaches the city broker (a real mosquitto)
 * at least once, duplicates carrying the same id.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { cityBroker, tempDir } from './testing/fixtures.js';
import { waitFor } from './testing/mosquitto.js';

const CHILD = fileURLToPath(new URL('./testing/uplink-child.ts', import.meta.url));
const REPO = fileURLToPath(new URL('../..', import.meta.url));

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

async function startChild(
  opts: Record<string, unknown>,
): Promise<{ child: ChildProcess; exited: Promise<void>; stderr: string[] }> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify(opts)], {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stderr: string[] = [];
  child.stderr!.on('data', (d) => stderr.push(String(d)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      if (String(d).includes('ready')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`child exited (${code}): ${stderr.join('')}`)));
  });
  return { child, exited, stderr };
}

/** Whether the child still runs; throws with its stderr when it died on its own. */
function running(c: { child: ChildProcess; stderr: string[] }): boolean {
  if (c.child.exitCode === null && c.child.signalCode === null) return true;
  throw new Error(`the gateway child exited (${c.child.exitCode ?? c.child.signalCode}): ${c.stderr.join('')}`);
}

function journalIds(dbPath: string): { ids: Map<string, number>; outboxPending: number } {
  const db = new Database(dbPath, { readonly: true });
  try {
    const rows = db.prepare('SELECT id, seq FROM events').all() as { id: string; seq: number }[];
    const outboxPending = (db.prepare('SELECT COUNT(*) AS n FROM outbox').get() as { n: number }).n;
    return { ids: new Map(rows.map((r) => [r.id, r.seq])), outboxPending };
  } finally {
    db.close();
  }
}

describe('uplink across kill -9', () => {
  it('loses nothing committed when the gateway is killed mid-drain and restarted', async () => {
    const dir = tempDir('kill');
    const broker = await cityBroker(dir);
    cleanups.push(() => broker.close());
    const dbPath = join(dir, 'gw.db');

    const first = await startChild({ dbPath, url: broker.url, ingest: 100, inflightWindow: 10 });
    await waitFor('the drain is under way', () => running(first) && broker.events().length >= 2000);
    first.child.kill('SIGKILL');
    await first.exited;
    expect(first.child.signalCode).toBe('SIGKILL');
    // the Last Will: mosquitto publishes the retained `offline` status of the dead session
    const statusOf = () => broker.messages.filter((m) => m.topic.endsWith('/status')).map((m) => m.json);
    await waitFor('Last Will offline', () => statusOf().at(-1)?.status === 'offline');
    expect(statusOf().at(-1)).toMatchObject({ status: 'offline', session: 1 });

    const { ids, outboxPending } = journalIds(dbPath);
    const received = () => new Set(broker.events().map((m) => m.json.id as string));
    expect(ids.size).toBeGreaterThan(received().size); // killed with a backlog
    expect(outboxPending).toBeGreaterThan(0);

    const second = await startChild({ dbPath, url: broker.url });
    await waitFor('every committed event at the city broker', () => {
      const got = received();
      return [...ids.keys()].every((id) => got.has(id));
    });
    expect(statusOf().at(-1)).toMatchObject({ status: 'online', session: 2 });
    second.child.kill('SIGTERM');
    await second.exited;
    // a clean stop publishes `offline` itself
    await waitFor('offline on a clean stop', () => statusOf().at(-1)?.status === 'offline');

    for (const m of broker.events()) expect(m.json.seq).toBe(ids.get(m.json.id as string));
    // what was replayed by the restarted gateway is flagged historical
    expect(broker.events().some((m) => m.json.historical === true)).toBe(true);
  });
});
