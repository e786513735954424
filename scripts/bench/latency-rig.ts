/**
 * What the device-to-linkage latency sections share: the bench site around their drivers (an
 * admin account, journal synchronous=FULL, everything on loopback), the duty staff's console feed
 * client (logs in, sees alarms, resolves them between samples), and waiting for one step of a
 * sample with an error that says what had happened so far.
 */
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { validateConfig } from '../../config/load.js';
import type { SiteConfig } from '../../config/schema.js';
import { hashPassword } from '../../gateway/auth/password.js';
import type { Gateway } from '../../gateway/gateway.js';
import { waitFor } from '../../gateway/testing/wait-for.js';
import { now } from './stats.js';

/** The admin account the bench logs in with (console feed, local bus commands). */
export const OPS = { username: 'ops', password: 'bench-ops-password' } as const;

/** When each step of the current sample happened (first time only), on the process clock. */
export type Marks = Map<string, number>;

export function marker(marks: Marks): (key: string, t?: number) => void {
  return (key, t = now()) => {
    if (!marks.has(key)) marks.set(key, t);
  };
}

/** The bench site file around `drivers`, validated as `check-config` does. */
export function benchSite(dir: string, drivers: readonly unknown[]): SiteConfig {
  const parsed = validateConfig({
    site: { id: 'bench-site' },
    gateway: { id: 'gw-bench' },
    log: { level: 'warn' },
    broker: {
      listeners: [{ type: 'tcp', host: '127.0.0.1', port: 0 }],
      accounts: [{ username: OPS.username, role: 'admin', passwordHash: hashPassword(OPS.password) }],
    },
    journal: { path: join(dir, 'gw.db'), synchronous: 'FULL' },
    http: { host: '127.0.0.1', port: 0 },
    drivers,
  });
  if (!parsed.ok) throw new Error(`bench config: ${JSON.stringify(parsed.problems.slice(0, 3))}`);
  return parsed.config;
}

/** An `alarm.*` event as the feed carries it (the fields the sections read). */
export interface FeedAlarmEvent {
  type: string;
  data: {
    alarm?: { id: string; rule: string; device: { id: string } };
    action?: { command: string; outcome: string; error?: string; data?: Record<string, unknown> };
  };
}

export interface FeedClient {
  /** Sends an op (`resolve`, `ack`, …) and waits for its answer; a refusal throws. */
  ask(msg: object): Promise<void>;
  close(): void;
}

/**
 * The console feed, logged in as the bench admin; `onAlarm` sees every `alarm.*` event with the
 * time it arrived.
 */
export async function openFeed(gw: Gateway, onAlarm: (e: FeedAlarmEvent, at: number) => void, timeoutMs: number): Promise<FeedClient> {
  const ws = new WebSocket(`${gw.http.url.replace(/^http/, 'ws')}/alarms/feed`);
  const results = new Map<string, { ok: boolean; error?: string }>();
  ws.on('message', (raw) => {
    const at = now();
    const m = JSON.parse(raw.toString()) as { type: string; req?: string; ok?: boolean; error?: string; event?: FeedAlarmEvent };
    if ((m.type === 'login' || m.type === 'result') && m.req) results.set(m.req, { ok: !!m.ok, error: m.error });
    if (m.type === 'alarm' && m.event) onAlarm(m.event, at);
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  let req = 0;
  const ask = async (msg: object): Promise<void> => {
    const id = `bench-${++req}`;
    const what = JSON.stringify(msg).slice(0, 60);
    ws.send(JSON.stringify({ ...msg, req: id }));
    const r = await waitFor(`console answer to ${what}`, () => results.get(id), { timeoutMs, everyMs: 5 });
    results.delete(id);
    if (!r.ok) throw new Error(`console refused ${what}: ${r.error}`);
  };
  await ask({ op: 'login', ...OPS });
  return { ask, close: () => ws.close() };
}

/** Waits for a step of the current sample; one that never comes fails the section, saying what had happened. */
export async function step(gw: Gateway, marks: Marks, key: string, timeoutMs: number): Promise<number> {
  try {
    return await waitFor(key, () => marks.get(key), { timeoutMs, everyMs: 2 });
  } catch (err) {
    const done = [...marks.keys()].join(', ') || 'nothing';
    const drivers = gw.drivers
      .status()
      .filter((d) => d.state !== 'running')
      .map((d) => `${d.id} ${d.state}${d.lastError ? ` (${d.lastError})` : ''}`);
    throw new Error(
      `sample missing: ${(err as Error).message}; done so far in this sample: ${done}; drivers not running: ${drivers.join(', ') || 'none'}; pipeline ${gw.pipeline.pressure} (run with LOG_LEVEL=info for the gateway's log)`,
      { cause: err },
    );
  }
}
