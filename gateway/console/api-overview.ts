/**
 * The big-screen overview, from the journal's database:
 *
 *   GET /console/api/overview (reader) -> {
 *     alarms: {today: {critical, major, warning, info, total}, open: {...same}},
 *     devices: [{family, online, offline, unknown, total}],
 *     uplink: {state, since?, lastError?, backlog, backlogBytes} | null,
 *     hours: [{at, events, alarms}] (the last 24 hours, oldest first), at }
 *
 * "Today" starts at the gateway's local midnight; events are device events (alarm lifecycle
 * events not counted), alarms are `alarm.raised`.
 */
import type Database from 'better-sqlite3';
import type { Alarm } from '../core/alarm-types.js';
import { readLaneStats, readUplinkState } from '../uplink/outbox-tables.js';
import type { SiteDevice } from './api-actions.js';
import { availability } from './api-plan.js';
import { type ApiRouter, sendJson } from './console-router.js';

const HOUR = 3_600_000;

type Counts = Record<'critical' | 'major' | 'warning' | 'info' | 'total', number>;
const counts = (): Counts => ({ critical: 0, major: 0, warning: 0, info: 0, total: 0 });

export interface OverviewOptions {
  api: ApiRouter;
  db: Database.Database;
  activeAlarms(): Alarm[];
  /** The site's devices (else the devices the journal has heard of). */
  devices(): readonly Pick<SiteDevice, 'id' | 'family'>[] | undefined;
  now?: () => number;
}

export function addOverviewRoutes(o: OverviewOptions): void {
  const now = o.now ?? Date.now;
  const tableExists = (name: string) => !!o.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name);
  const raisedSince = o.db.prepare("SELECT severity, COUNT(*) AS n FROM events WHERE type = 'alarm.raised' AND received_at >= ? GROUP BY severity");
  const perHour = o.db.prepare(
    `SELECT CAST((received_at - ?) / ${HOUR} AS INTEGER) AS h, SUM(type NOT LIKE 'alarm.%') AS events, SUM(type = 'alarm.raised') AS alarms
     FROM events WHERE received_at >= ? GROUP BY h`,
  );
  const heard = o.db.prepare("SELECT DISTINCT device_id AS id, family FROM events WHERE type = 'device.availability'");

  o.api.add({
    method: 'GET',
    path: '/overview',
    role: 'reader',
    handler: ({ res }) => {
      const t = now();
      const midnight = new Date(t);
      midnight.setHours(0, 0, 0, 0);
      const today = counts();
      for (const r of raisedSince.all(midnight.getTime()) as { severity: string; n: number }[]) add(today, r.severity, r.n);
      const open = counts();
      for (const a of o.activeAlarms()) add(open, a.severity, 1);

      const state = availability(o.db);
      const devices = (o.devices() ?? (heard.all() as { id: string; family: string }[])).filter((d) => d.family !== 'gateway');
      const families = new Map<string, { family: string; online: number; offline: number; unknown: number; total: number }>();
      for (const d of devices) {
        const f = families.get(d.family) ?? { family: d.family, online: 0, offline: 0, unknown: 0, total: 0 };
        f[state.get(d.id) ?? 'unknown']++;
        f.total++;
        families.set(d.family, f);
      }

      const start = Math.floor(t / HOUR) * HOUR - 23 * HOUR;
      const hours = Array.from({ length: 24 }, (_, i) => ({ at: new Date(start + i * HOUR).toISOString(), events: 0, alarms: 0 }));
      for (const r of perHour.all(start, start) as { h: number; events: number; alarms: number }[]) {
        const slot = hours[r.h];
        if (slot) Object.assign(slot, { events: r.events, alarms: r.alarms });
      }
      sendJson(res, 200, {
        at: new Date(t).toISOString(),
        alarms: { today, open },
        devices: [...families.values()].sort((a, b) => a.family.localeCompare(b.family)),
        uplink: tableExists('outbox_stats') ? uplink(o.db, tableExists('uplink_state')) : null,
        hours,
      });
    },
  });
}

function add(c: Counts, severity: string, n: number): void {
  if (severity in c && severity !== 'total') c[severity as keyof Counts] += n;
  c.total += n;
}

function uplink(db: Database.Database, hasState: boolean) {
  const lanes = readLaneStats(db);
  const st = hasState ? readUplinkState(db) : {};
  return {
    state: String(st.link_state ?? 'unknown'),
    since: st.link_since === undefined ? undefined : String(st.link_since),
    lastError: st.last_error === undefined ? undefined : String(st.last_error),
    backlog: lanes.reduce((s, l) => s + l.pending, 0),
    backlogBytes: lanes.reduce((s, l) => s + l.bytes, 0),
  };
}
