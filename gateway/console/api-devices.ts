/**
 * Devices of the console (reader): every configured device with its availability, last contact,
 * battery and open alarms; one device's facts, events and readings.
 *
 *   GET /console/api/devices                    -> {devices: [DeviceRow]}
 *   GET /console/api/devices/:id                -> {device: DeviceRow, alarms: [active alarm]}
 *   GET /console/api/devices/:id/events?limit&before -> {events, next?}  (newest first)
 *   GET /console/api/devices/:id/series?hours -> {since, until, truncated, series: [Readings]}
 *
 * The inventory says which devices exist; the journal what they said. Each figure is a look-up in
 * one of the journal's indexes (the last `device.availability` event, the last battery report, the
 * last event), never a scan of a device's history; the list reads the journal's unindexed tail
 * once for all devices. Readings read at most READINGS_MAX_ROWS telemetry events of the time
 * range and are averaged down to READINGS_POINTS per series.
 */
import type Database from 'better-sqlite3';
import { type Alarm, summary } from '../core/alarm-types.js';
import type { DeviceRef, EventEnvelope } from '../core/envelope.js';
import { deviceParams, ofDevices, UPTO } from '../journal/device-index.js';
import { intParam, type Redact, shown } from './api-events.js';
import { type ApiRouter, HttpError, sendJson } from './console-router.js';

/** Event types that carry a device's battery (`data.battery`, %); a site may add its own. */
export const BATTERY_EVENTS: string[] = ['device.heartbeat', 'device.battery-low'];
/**
 * Data keys that name a part of a device (a pile's port, a charger's connector): a reading's other
 * numbers are charted per part (`current (port 2)`), the part number itself is not charted.
 */
export const PART_KEYS: string[] = ['port', 'connectorId', 'channel', 'lamp'];
/** An alarm is a fault when its trigger's type has a `fault` part (`gas.fault`, `pile.fault`). */
export const isFault = (a: Alarm): boolean => /(^|\.)fault(\.|$)/.test(a.trigger.type);

/** A device's events that count as contact: not availability (the gateway's or the liveness timer's verdict) nor alarms. */
const SEEN = "type <> 'device.availability' AND type NOT LIKE 'alarm.%'";

export const READINGS_MAX_ROWS = 20_000;
export const READINGS_POINTS = 600;

export interface DeviceRow {
  id: string;
  family: string;
  name?: string;
  model?: string;
  building?: string;
  zone?: string;
  tags: string[];
  /** null: never reported since the journal began. */
  online: boolean | null;
  /** Why it is offline (as the driver or the liveness timer said). */
  reason?: string;
  /** ISO time of the last availability change. */
  since?: string;
  /** ISO time of its last event (not counting availability and alarm events). */
  lastSeen?: string;
  battery?: number;
  /** ISO time of that battery report. */
  batteryAt?: string;
  faults: number;
  alarms: number;
}

export interface Readings {
  /** `<event type>/<field>[/<part key>=<value>]` */
  key: string;
  type: string;
  field: string;
  part?: { key: string; value: number };
  /** [epoch ms, value], ascending. */
  points: [number, number][];
}

export interface DeviceRoutesOptions {
  db: Database.Database;
  /** The site's devices (the inventory; the gateway itself, family `gateway`, is left out). */
  devices(): ReadonlyMap<string, DeviceRef>;
  /** The device's config entry (for its name and model), if known. */
  deviceConfig?(id: string): object | undefined;
  activeAlarms(): Alarm[];
  redact?: Redact;
  now?: () => number;
}

export class DeviceFacts {
  private readonly lastOfType: Database.Statement;
  private readonly lastSeen: Database.Statement;
  private readonly tailSeen: Database.Statement;
  private readonly indexedSeen: Database.Statement;
  private readonly firstAt: Database.Statement;
  private readonly telemetry: Database.Statement;
  private readonly events: Database.Statement;

  constructor(
    db: Database.Database,
    private readonly o: DeviceRoutesOptions,
  ) {
    // One device's events through the journal's device index (@d0 = the device id).
    this.lastOfType = db.prepare(
      `SELECT body FROM events WHERE ${ofDevices(1, { where: 'type = @type', newest: '1' })} ORDER BY seq DESC LIMIT 1`,
    );
    this.lastSeen = db.prepare(`SELECT received_at AS at FROM events WHERE ${ofDevices(1, { where: SEEN, newest: '1' })} ORDER BY seq DESC LIMIT 1`);
    // The list reads the unindexed tail once for every device (once per device: seconds with thousands), then the index.
    this.tailSeen = db.prepare(`SELECT device_id AS id, received_at AS at, MAX(seq) FROM events WHERE seq > ${UPTO} AND ${SEEN} GROUP BY device_id`);
    this.indexedSeen = db.prepare(
      `SELECT received_at AS at FROM events WHERE seq = (SELECT seq FROM idx.by_device WHERE device_id = @d0 AND ${SEEN} ORDER BY seq DESC LIMIT 1)`,
    );
    this.firstAt = db.prepare('SELECT seq FROM events WHERE received_at >= ? ORDER BY received_at LIMIT 1');
    this.telemetry = db.prepare(
      `SELECT received_at AS at, type, body FROM events WHERE ${ofDevices(1, { where: 'seq >= @from' })} AND kind = 'telemetry' AND received_at >= @since AND received_at < @until ORDER BY seq DESC LIMIT @limit`,
    );
    this.events = db.prepare(
      `SELECT body FROM events WHERE ${ofDevices(1, { where: 'seq < @before', newest: '@limit' })} ORDER BY seq DESC LIMIT @limit`,
    );
  }

  list(): DeviceRow[] {
    const alarms = this.o.activeAlarms();
    const tail = new Map((this.tailSeen.all() as { id: string; at: number }[]).map((r) => [r.id, r.at]));
    const seen = (id: string) => tail.get(id) ?? (this.indexedSeen.get(deviceParams([id])) as { at: number } | undefined)?.at;
    return [...this.o.devices().values()].filter((d) => d.family !== 'gateway').map((d) => this.row(d, alarms, seen));
  }

  row(
    d: DeviceRef,
    alarms: readonly Alarm[] = this.o.activeAlarms(),
    lastSeen = (id: string) => (this.lastSeen.get(deviceParams([id])) as { at: number } | undefined)?.at,
  ): DeviceRow {
    const config = (this.o.deviceConfig?.(d.id) ?? {}) as { name?: unknown; model?: unknown };
    const availability = this.last(d.id, 'device.availability');
    const seen = lastSeen(d.id);
    const battery = BATTERY_EVENTS.map((t) => this.last(d.id, t))
      .filter((e): e is EventEnvelope => typeof e?.data.battery === 'number')
      .sort((a, b) => b.seq - a.seq)[0];
    const mine = alarms.filter((a) => a.device.id === d.id || a.devices.includes(d.id));
    const faults = mine.filter(isFault).length;
    return {
      id: d.id,
      family: d.family,
      ...(typeof config.name === 'string' ? { name: config.name } : {}),
      ...(typeof config.model === 'string' ? { model: config.model } : {}),
      ...(d.building !== undefined ? { building: d.building } : {}),
      ...(d.zone !== undefined ? { zone: d.zone } : {}),
      tags: d.tags,
      online: availability ? availability.data.online === true : null,
      ...(availability && typeof availability.data.reason === 'string' ? { reason: availability.data.reason } : {}),
      ...(availability ? { since: availability.receivedAt } : {}),
      ...(seen !== undefined ? { lastSeen: new Date(seen).toISOString() } : {}),
      ...(battery ? { battery: battery.data.battery as number, batteryAt: battery.receivedAt } : {}),
      faults,
      alarms: mine.length - faults,
    };
  }

  /** The device's events older than `before` (a seq), newest first. */
  eventsOf(id: string, limit: number, before = Number.MAX_SAFE_INTEGER): EventEnvelope[] {
    return (this.events.all({ ...deviceParams([id]), before, limit }) as { body: string }[]).map((r) => JSON.parse(r.body) as EventEnvelope);
  }

  /** The numbers of its telemetry events in [since, until), one series per event type and field (and part). */
  readings(id: string, since: number, until: number): { series: Readings[]; truncated: boolean } {
    const from = (this.firstAt.get(since) as { seq: number } | undefined)?.seq;
    if (from === undefined) return { series: [], truncated: false };
    const rows = this.telemetry.all({ ...deviceParams([id]), from, since, until, limit: READINGS_MAX_ROWS }) as { at: number; type: string; body: string }[];
    const series = new Map<string, Readings>();
    for (let i = rows.length - 1; i >= 0; i--) {
      const { at, type, body } = rows[i]!;
      const data = (JSON.parse(body) as EventEnvelope).data;
      const partKey = PART_KEYS.find((k) => typeof data[k] === 'number');
      const part = partKey === undefined ? undefined : { key: partKey, value: data[partKey] as number };
      for (const [field, v] of Object.entries(data)) {
        if (typeof v !== 'number' || !Number.isFinite(v) || field === partKey) continue;
        const key = `${type}/${field}${part ? `/${part.key}=${part.value}` : ''}`;
        let s = series.get(key);
        if (!s) series.set(key, (s = { key, type, field, ...(part ? { part } : {}), points: [] }));
        s.points.push([at, v]);
      }
    }
    for (const s of series.values()) s.points = downsample(s.points, since, until, READINGS_POINTS);
    return { series: [...series.values()], truncated: rows.length === READINGS_MAX_ROWS };
  }

  private last(id: string, type: string): EventEnvelope | undefined {
    const r = this.lastOfType.get({ ...deviceParams([id]), type }) as { body: string } | undefined;
    return r && (JSON.parse(r.body) as EventEnvelope);
  }
}

/** At most `n` points: the average of each of n equal time slices (points as they are when fewer). */
export function downsample(points: [number, number][], since: number, until: number, n: number): [number, number][] {
  if (points.length <= n) return points;
  const width = (until - since) / n;
  const sums = new Map<number, { t: number; v: number; c: number }>();
  for (const [t, v] of points) {
    const slot = Math.min(n - 1, Math.floor((t - since) / width));
    const s = sums.get(slot) ?? { t: 0, v: 0, c: 0 };
    s.t += t;
    s.v += v;
    s.c += 1;
    sums.set(slot, s);
  }
  return [...sums.entries()].sort((a, b) => a[0] - b[0]).map(([, s]) => [Math.round(s.t / s.c), s.v / s.c]);
}

export function addDeviceRoutes(api: ApiRouter, o: DeviceRoutesOptions): DeviceFacts {
  const facts = new DeviceFacts(o.db, o);
  const now = o.now ?? Date.now;
  const known = (id: string): DeviceRef => {
    const d = o.devices().get(id);
    if (!d || d.family === 'gateway') throw new HttpError(404, `no device ${id} in the site's configuration (drivers[].devices[].id)`);
    return d;
  };
  api.add({ method: 'GET', path: '/devices', role: 'reader', handler: ({ res }) => sendJson(res, 200, { devices: facts.list() }) });
  api.add({
    method: 'GET',
    path: '/devices/:id',
    role: 'reader',
    handler: ({ res, params }) => {
      const d = known(params.id!);
      const alarms = o.activeAlarms();
      const mine = alarms.filter((a) => a.device.id === d.id || a.devices.includes(d.id)).map(summary);
      sendJson(res, 200, { device: facts.row(d, alarms), alarms: mine });
    },
  });
  api.add({
    method: 'GET',
    path: '/devices/:id/events',
    role: 'reader',
    handler: ({ res, params, query, session }) => {
      const d = known(params.id!);
      const limit = intParam(query, 'limit', 20, 1, 200);
      const before = intParam(query, 'before', Number.MAX_SAFE_INTEGER, 1, Number.MAX_SAFE_INTEGER);
      const events = facts.eventsOf(d.id, limit + 1, before);
      const page = events.slice(0, limit).map((e) => shown(e, session, o.redact));
      sendJson(res, 200, { events: page, ...(events.length > limit ? { next: page[page.length - 1]!.seq } : {}) });
    },
  });
  api.add({
    method: 'GET',
    path: '/devices/:id/series',
    role: 'reader',
    handler: ({ res, params, query }) => {
      const d = known(params.id!);
      const until = now() + 1;
      const since = until - intParam(query, 'hours', 24, 1, 24 * 7) * 3_600_000;
      const r = facts.readings(d.id, since, until);
      sendJson(res, 200, { since: new Date(since).toISOString(), until: new Date(until).toISOString(), ...r });
    },
  });
  return facts;
}
