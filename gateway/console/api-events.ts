/**
 * Event history of the console (reader), from the journal, newest first:
 *
 *   GET /console/api/events?since&until&type&device&building&limit&before  -> {events, next?}
 *   GET /console/api/events.csv?since&until&type&device&building&tz&lang   -> text/csv (UTF-8 with BOM)
 *
 * `since`/`until`: ISO time or epoch ms (default: the last 24 h); `type`: a dotted prefix (`gas`
 * matches `gas.reading` and `gas.alarm.high`); `device`: a device id; `building`: the devices of
 * that building in the inventory; `before`: the `next` of the page before (a sequence number).
 *
 * Every query is bounded: the time range becomes a range of sequence numbers (two look-ups in the
 * journal's time index) and pages have a limit, so no request reads the whole journal. The CSV has
 * at most CSV_MAX_ROWS rows; a larger set is refused (413) with what to do, before any row is sent.
 *
 * Personal data (the keys a family marks personal: card numbers, names): duty staff see it as the
 * city does under the site's `privacy.personalData` (masked by default); admins see it in full.
 */
import type { ServerResponse } from 'node:http';
import type Database from 'better-sqlite3';
import { DEFINITIONS } from '../../drivers/index.js';
import type { DeviceRef, EventEnvelope } from '../core/envelope.js';
import type { AnyFamily } from '../devices/driver-api.js';
import { deviceParams, ofDevices } from '../journal/device-index.js';
import { createRedactor, PrivacyConfig, readSalt } from '../uplink/privacy.js';
import { type ApiRouter, HttpError, sendJson } from './console-router.js';
import type { Session } from './sessions.js';

/** Rows of one CSV export at most. */
export const CSV_MAX_ROWS = 100_000;
const DAY_MS = 86_400_000;
const TYPE_PREFIX = /^[a-z][a-z0-9-]*(\.[a-z0-9-]+)*$/;

export interface EventFilter {
  since: number;
  until: number;
  type?: string;
  /** Only these devices (undefined: all). */
  devices?: readonly string[];
}

/** Rewrites personal data for a reader; undefined when the event has none. */
export type Redact = (env: EventEnvelope) => EventEnvelope | undefined;

export interface EventRoutesOptions {
  db: Database.Database;
  /** The site's devices (for the `building` filter). */
  devices(): ReadonlyMap<string, DeviceRef>;
  redact?: Redact;
  now?: () => number;
  /** Rows of one CSV export at most (default CSV_MAX_ROWS). */
  csvMaxRows?: number;
}

/** Reads filtered pages of the journal's events, newest first. */
export class EventHistory {
  private readonly firstAt: Database.Statement;
  private readonly lastBefore: Database.Statement;

  constructor(private readonly db: Database.Database) {
    this.firstAt = db.prepare('SELECT seq FROM events WHERE received_at >= ? ORDER BY received_at LIMIT 1');
    this.lastBefore = db.prepare('SELECT seq FROM events WHERE received_at < ? ORDER BY received_at DESC LIMIT 1');
  }

  /** Up to `limit` events older than `before` (a seq), newest first. */
  page(f: EventFilter, limit: number, before?: number): EventEnvelope[] {
    const w = this.where(f, before);
    if (!w) return [];
    const rows = this.db.prepare(`SELECT body FROM events WHERE ${w.sql} ORDER BY seq DESC LIMIT @limit`).all({ ...w.args, limit }) as {
      body: string;
    }[];
    return rows.map((r) => JSON.parse(r.body) as EventEnvelope);
  }

  /** Whether more than `n` events match (reads at most n + 1 index entries). */
  moreThan(f: EventFilter, n: number): boolean {
    const w = this.where(f);
    if (!w) return false;
    return this.db.prepare(`SELECT 1 FROM events WHERE ${w.sql} ORDER BY seq DESC LIMIT 1 OFFSET @n`).get({ ...w.args, n }) !== undefined;
  }

  private where(f: EventFilter, before?: number): { sql: string; args: Record<string, unknown> } | undefined {
    if (f.devices?.length === 0) return undefined;
    // The time range as a range of sequence numbers: the scan stops at its ends.
    const lo = (this.firstAt.get(f.since) as { seq: number } | undefined)?.seq;
    const hi = (this.lastBefore.get(f.until) as { seq: number } | undefined)?.seq;
    if (lo === undefined || hi === undefined || hi < lo) return undefined;
    const seqs = 'seq BETWEEN @lo AND @hi';
    const clauses = [seqs, 'received_at >= @since', 'received_at < @until'];
    const args: Record<string, unknown> = { lo, hi: before === undefined ? hi : Math.min(hi, before - 1), since: f.since, until: f.until };
    if (f.type) {
      clauses.push('(type = @type OR type LIKE @typePrefix)');
      Object.assign(args, { type: f.type, typePrefix: `${f.type}.%` });
    }
    if (f.devices) {
      // Through the journal's device index, within the same range of sequence numbers.
      clauses.push(ofDevices(f.devices.length, { where: seqs }));
      Object.assign(args, deviceParams(f.devices));
    }
    return { sql: clauses.join(' AND '), args };
  }
}

/** A time query parameter: ISO time or epoch ms. */
export function timeParam(q: URLSearchParams, name: string, fallback: number): number {
  const v = q.get(name);
  if (v === null || v === '') return fallback;
  const ms = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  if (!Number.isFinite(ms)) throw new HttpError(400, `${name}=${v} is not a time: give an ISO time (2026-05-01T08:00:00+08:00) or epoch ms`);
  return ms;
}

/** A whole-number query parameter within [min, max]. */
export function intParam(q: URLSearchParams, name: string, fallback: number, min: number, max: number): number {
  const v = q.get(name);
  if (v === null || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new HttpError(400, `${name}=${v}: give a whole number from ${min} to ${max}`);
  return n;
}

export function filterOf(q: URLSearchParams, site: ReadonlyMap<string, DeviceRef>, now: number): EventFilter {
  const until = timeParam(q, 'until', now + 1);
  const since = timeParam(q, 'since', until - DAY_MS);
  if (since >= until) throw new HttpError(400, 'since must be before until');
  const type = q.get('type')?.trim().toLowerCase().replace(/\.+$/, '') || undefined;
  if (type && !TYPE_PREFIX.test(type)) throw new HttpError(400, `type=${type}: give a dotted event type or its start, e.g. gas or gas.alarm`);
  const device = q.get('device')?.trim() || undefined;
  const building = q.get('building')?.trim() || undefined;
  let devices: string[] | undefined = device ? [device] : undefined;
  if (building) {
    const inBuilding = [...site.values()].filter((d) => d.building === building).map((d) => d.id);
    devices = devices ? devices.filter((id) => inBuilding.includes(id)) : inBuilding;
  }
  return { since, until, ...(type ? { type } : {}), ...(devices ? { devices } : {}) };
}

/** The site's redactor of personal data (`privacy`; masked when the site says nothing). */
export function redactorFor(privacy: PrivacyConfig = PrivacyConfig.parse({}), families: readonly AnyFamily[] = DEFINITIONS): Redact | undefined {
  const salt = privacy.personalData === 'hashed' && privacy.saltFile ? readSalt(privacy.saltFile) : undefined;
  return createRedactor(privacy, families, salt);
}

/** What a session may see of an event: admins all of it, others as the site's privacy setting says. */
export const shown = (env: EventEnvelope, session: Session | undefined, redact: Redact | undefined): EventEnvelope =>
  session?.role === 'admin' || !redact ? env : (redact(env) ?? env);

export function addEventRoutes(api: ApiRouter, o: EventRoutesOptions): EventHistory {
  const history = new EventHistory(o.db);
  const now = o.now ?? Date.now;
  const maxRows = o.csvMaxRows ?? CSV_MAX_ROWS;
  api.add({
    method: 'GET',
    path: '/events',
    role: 'reader',
    handler: ({ res, query, session }) => {
      const filter = filterOf(query, o.devices(), now());
      const limit = intParam(query, 'limit', 50, 1, 500);
      const before = query.has('before') ? intParam(query, 'before', 0, 1, Number.MAX_SAFE_INTEGER) : undefined;
      const events = history.page(filter, limit + 1, before);
      const more = events.length > limit;
      const page = events.slice(0, limit).map((e) => shown(e, session, o.redact));
      sendJson(res, 200, { events: page, ...(more ? { next: page[page.length - 1]!.seq } : {}) });
    },
  });
  api.add({
    method: 'GET',
    path: '/events.csv',
    role: 'reader',
    handler: async ({ res, query, session }) => {
      const filter = filterOf(query, o.devices(), now());
      const offsetMin = intParam(query, 'tz', 0, -14 * 60, 14 * 60);
      const en = query.get('lang') === 'en';
      if (history.moreThan(filter, maxRows)) {
        throw new HttpError(
          413,
          `导出超过 ${maxRows} 行：请缩短时间范围或加筛选条件后再导出 / over ${maxRows} rows: narrow the time range or add a filter`,
        );
      }
      const stamp = new Date(now()).toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-');
      res.writeHead(200, {
        'content-type': 'text/csv; charset=utf-8',
        'content-disposition': `attachment; filename="events-${stamp}.csv"`,
        'cache-control': 'no-store',
      });
      await writeCsv(res, history, filter, { maxRows, offsetMin, en, map: (e) => shown(e, session, o.redact) });
    },
  });
  return history;
}

const HEADERS = {
  zh: ['时间', '设备时间', '序号', '类型', '级别', '设备', '设备类别', '楼栋', '区域', '数据'],
  en: ['Time', 'Device time', 'Seq', 'Type', 'Severity', 'Device', 'Family', 'Building', 'Zone', 'Data'],
};

/** One CSV field (RFC 4180): quoted when it holds a comma, quote or line break; no formula start. */
export function csvField(v: string | number | undefined | null): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'number') return String(v);
  // A leading = + - @ would make Excel run the cell as a formula.
  const s = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** `2026-05-01 08:00:00` at `offsetMin` minutes east of UTC (as Excel reads a date). */
export function localTime(iso: string | null, offsetMin: number): string {
  if (!iso) return '';
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms)) return iso;
  return new Date(ms + offsetMin * 60_000).toISOString().slice(0, 19).replace('T', ' ');
}

const utcName = (offsetMin: number) => {
  const a = Math.abs(offsetMin);
  return `UTC${offsetMin < 0 ? '-' : '+'}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
};

async function writeCsv(
  res: ServerResponse,
  history: EventHistory,
  filter: EventFilter,
  o: { maxRows: number; offsetMin: number; en: boolean; map: (e: EventEnvelope) => EventEnvelope },
): Promise<void> {
  const heads = [...(o.en ? HEADERS.en : HEADERS.zh)];
  heads[0] = `${heads[0]} (${utcName(o.offsetMin)})`;
  // The BOM tells Excel the file is UTF-8 (else Chinese text comes out garbled).
  res.write(`\uFEFF${heads.map(csvField).join(',')}\r\n`);
  let before: number | undefined;
  for (let sent = 0; sent < o.maxRows; ) {
    const page = history.page(filter, Math.min(1000, o.maxRows - sent), before);
    if (!page.length) break;
    const lines = page.map((raw) => {
      const e = o.map(raw);
      return [
        localTime(e.receivedAt, o.offsetMin),
        localTime(e.deviceTime, o.offsetMin),
        e.seq,
        e.type,
        e.severity,
        e.device.id,
        e.device.family,
        e.device.building,
        e.device.zone,
        JSON.stringify(e.data),
      ]
        .map(csvField)
        .join(',');
    });
    sent += page.length;
    before = page[page.length - 1]!.seq;
    if (!res.write(`${lines.join('\r\n')}\r\n`)) await drained(res);
    if (res.destroyed) return;
  }
  res.end();
}

/** Resolves when the response can take more, or is gone (the browser closed the download). */
const drained = (res: ServerResponse) =>
  new Promise<void>((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
