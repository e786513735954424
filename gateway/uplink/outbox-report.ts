/**
 * `gateway outbox`: the uplink figures of `/metrics` read from the database (works while the
 * gateway runs: WAL readers do not block it). Drain rate from two readings `sampleMs` apart.
 */
import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import { type LaneStats, readLaneStats, readUplinkState } from './outbox-tables.js';
import { readAudit } from './platform-commands.js';

export interface OutboxReport {
  link: { state: string; since?: string; session?: number; lastError?: string };
  lanes: (LaneStats & { oldestPendingS: number | null })[];
  backlog: number;
  backlogBytes: number;
  evicted: number;
  drainRate: number;
  audit?: ReturnType<typeof readAudit>;
}

export async function outboxReport(
  dbPath: string,
  o: { sampleMs?: number; audit?: number; now?: () => number } = {},
): Promise<OutboxReport> {
  if (!existsSync(dbPath))
    throw new Error(`no database at ${dbPath} (journal.path): the gateway has not run yet`);
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    const hasOutbox = db
      .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'outbox_stats'")
      .get();
    if (!hasOutbox) {
      return {
        link: { state: 'no uplink configured yet' },
        lanes: [],
        backlog: 0,
        backlogBytes: 0,
        evicted: 0,
        drainRate: 0,
      };
    }
    const ackedNow = () => readLaneStats(db).reduce((s, l) => s + l.acked, 0);
    const a0 = ackedNow();
    const t0 = performance.now();
    if (o.sampleMs) await new Promise((r) => setTimeout(r, o.sampleMs));
    const drainRate = o.sampleMs ? ((ackedNow() - a0) * 1000) / (performance.now() - t0) : 0;
    const now = (o.now ?? Date.now)();
    const lanes = readLaneStats(db).map((l) => ({
      ...l,
      oldestPendingS: l.oldestCreatedAt === null ? null : (now - l.oldestCreatedAt) / 1000,
    }));
    const st = readUplinkState(db);
    const hasAudit = db
      .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'uplink_command_audit'")
      .get();
    return {
      link: {
        state: String(st.link_state ?? 'unknown'),
        since: st.link_since === undefined ? undefined : String(st.link_since),
        session: st.session === undefined ? undefined : Number(st.session),
        lastError: st.last_error === undefined ? undefined : String(st.last_error),
      },
      lanes,
      backlog: lanes.reduce((s, l) => s + l.pending, 0),
      backlogBytes: lanes.reduce((s, l) => s + l.bytes, 0),
      evicted: lanes.reduce((s, l) => s + l.evicted, 0),
      drainRate: Math.round(drainRate),
      ...(o.audit && hasAudit ? { audit: readAudit(db, o.audit) } : {}),
    };
  } finally {
    db.close();
  }
}

function age(s: number | null): string {
  if (s === null) return '-';
  if (s < 120) return `${s.toFixed(1)} s`;
  if (s < 7200) return `${(s / 60).toFixed(1)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

export function formatOutboxReport(r: OutboxReport): string {
  const out = [
    `link:          ${r.link.state}${r.link.since ? ` since ${r.link.since}` : ''}${r.link.session !== undefined ? ` (session ${r.link.session})` : ''}`,
  ];
  if (r.link.lastError && r.link.state !== 'connected') out.push(`last error:    ${r.link.lastError}`);
  out.push(`backlog:       ${r.backlog} messages, ${(r.backlogBytes / 1024 / 1024).toFixed(1)} MB`);
  out.push(`drain rate:    ${r.drainRate} messages/s`);
  out.push(`evicted:       ${r.evicted} telemetry messages (disk budget)`);
  out.push('', 'lane        pending    oldest      enqueued     acked        evicted');
  for (const l of r.lanes) {
    out.push(
      `${l.lane.padEnd(11)} ${String(l.pending).padEnd(10)} ${age(l.oldestPendingS).padEnd(11)} ${String(l.enqueued).padEnd(12)} ${String(l.acked).padEnd(12)} ${l.evicted}`,
    );
  }
  if (r.audit?.length) {
    out.push('', 'platform commands (newest first):');
    for (const a of r.audit) {
      out.push(
        `  ${new Date(a.receivedAt).toISOString()}  ${a.account || '(none)'}  ${a.deviceId} ${a.command}  #${a.requestId || '-'}  ${a.result}${a.error ? `: ${a.error}` : ''}`,
      );
    }
  }
  return out.join('\n');
}
