/**
 * The site plan: the devices of the site file by building and zone with their state (online,
 * offline, in an active alarm), an optional uploaded plan picture (PNG or JPEG, at most
 * PLAN_IMAGE_MAX bytes, stored beside the journal) and where each device sits on it (fractions of
 * the picture's width and height, in the journal's database, table `console_plan_positions`).
 *
 *   GET    /console/api/plan                    (reader) -> {devices, image?, positions}
 *   GET    /console/api/plan/image              (reader) -> the picture
 *   PUT    /console/api/plan/image              (admin)  body: the PNG/JPEG bytes, content-type image/png|image/jpeg
 *   DELETE /console/api/plan/image              (admin)
 *   PUT    /console/api/plan/positions/:device  (admin)  {x, y} in 0..1
 *   DELETE /console/api/plan/positions/:device  (admin)
 */
import { existsSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type Database from 'better-sqlite3';
import type { Alarm } from '../core/alarm-types.js';
import type { SiteDevice } from './api-actions.js';
import { originAllowed } from './alarm-feed.js';
import type { AuditRecord } from './console-audit.js';
import { type ApiRouter, HttpError, mayDo, sendJson } from './console-router.js';
import type { Session } from './sessions.js';

export const PLAN_IMAGE_MAX = 8 * 1024 * 1024;
const MAGIC: Record<string, Buffer> = {
  'image/png': Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  'image/jpeg': Buffer.from([0xff, 0xd8, 0xff]),
};

export type DeviceState = 'online' | 'offline' | 'unknown';

/** Each device's last reported availability (the journal's latest `device.availability`). */
export function availability(db: Database.Database): Map<string, DeviceState> {
  const rows = db
    .prepare(
      `SELECT device_id AS id, json_extract(body, '$.data.online') AS online FROM events
       WHERE seq IN (SELECT MAX(seq) FROM events WHERE type = 'device.availability' GROUP BY device_id)`,
    )
    .all() as { id: string; online: number | null }[];
  return new Map(rows.map((r) => [r.id, r.online ? 'online' : 'offline']));
}

export interface PlanOptions {
  api: ApiRouter;
  db: Database.Database;
  devices: readonly SiteDevice[];
  /** The picture's file, without extension (`.png`/`.jpg` is added). */
  imageBase: string;
  activeAlarms(): Alarm[];
}

export class SitePlan {
  private readonly put: Database.Statement;
  private readonly del: Database.Statement;
  private readonly all: Database.Statement;

  constructor(private readonly o: PlanOptions) {
    o.db.exec(`CREATE TABLE IF NOT EXISTS console_plan_positions (
      device_id TEXT PRIMARY KEY, x REAL NOT NULL, y REAL NOT NULL, updated_by TEXT NOT NULL, updated_at TEXT NOT NULL)`);
    this.put = o.db.prepare(
      `INSERT INTO console_plan_positions (device_id, x, y, updated_by, updated_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT(device_id) DO UPDATE SET x = excluded.x, y = excluded.y, updated_by = excluded.updated_by, updated_at = excluded.updated_at`,
    );
    this.del = o.db.prepare('DELETE FROM console_plan_positions WHERE device_id = ?');
    this.all = o.db.prepare('SELECT device_id AS id, x, y FROM console_plan_positions');
    this.routes();
  }

  private image(): { path: string; type: string } | undefined {
    for (const [ext, type] of [['png', 'image/png'], ['jpg', 'image/jpeg']] as const) {
      const path = `${this.o.imageBase}.${ext}`;
      if (existsSync(path)) return { path, type };
    }
    return undefined;
  }

  private routes(): void {
    const { api, devices } = this.o;
    const known = new Set(devices.map((d) => d.id));
    api.add({
      method: 'GET',
      path: '/plan',
      role: 'reader',
      handler: ({ res }) => {
        const state = availability(this.o.db);
        const alarmed = new Map<string, string>();
        for (const a of this.o.activeAlarms()) for (const id of [a.device.id, ...a.devices]) if (!alarmed.has(id)) alarmed.set(id, a.severity);
        const img = this.image();
        const positions = Object.fromEntries(
          (this.all.all() as { id: string; x: number; y: number }[]).filter((p) => known.has(p.id)).map((p) => [p.id, { x: p.x, y: p.y }]),
        );
        sendJson(res, 200, {
          devices: devices.map((d) => ({
            id: d.id,
            family: d.family,
            building: d.building,
            zone: d.zone,
            state: state.get(d.id) ?? 'unknown',
            alarm: alarmed.get(d.id),
          })),
          image: img && { type: img.type, updatedAt: statSync(img.path).mtime.toISOString() },
          positions,
        });
      },
    });
    api.add({
      method: 'GET',
      path: '/plan/image',
      role: 'reader',
      handler: ({ res }) => {
        const img = this.image();
        if (!img) throw new HttpError(404, 'no plan picture uploaded; an admin uploads one on the site page');
        res.writeHead(200, { 'content-type': img.type, 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' }).end(readFileSync(img.path));
      },
    });
    api.add({
      method: 'DELETE',
      path: '/plan/image',
      role: 'admin',
      handler: ({ res, audit }) => {
        const img = this.image();
        if (img) rmSync(img.path, { force: true });
        audit('plan.image.delete', '', 'ok');
        res.writeHead(204).end();
      },
    });
    api.add({
      method: 'PUT',
      path: '/plan/positions/:device',
      role: 'admin',
      handler: ({ res, params, body, session, audit }) => {
        const id = params.device!;
        if (!known.has(id)) throw new HttpError(404, `no device ${id} in this site`);
        const { x, y } = body;
        const fraction = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 1;
        if (!fraction(x) || !fraction(y)) throw new HttpError(400, 'x and y must be numbers from 0 to 1 (fractions of the picture)');
        this.put.run(id, x, y, session!.user, new Date().toISOString());
        audit('plan.position', id, 'ok', `${(x as number).toFixed(3)},${(y as number).toFixed(3)}`);
        sendJson(res, 200, { id, x, y });
      },
    });
    api.add({
      method: 'DELETE',
      path: '/plan/positions/:device',
      role: 'admin',
      handler: ({ res, params, audit }) => {
        this.del.run(params.device!);
        audit('plan.position.delete', params.device!, 'ok');
        res.writeHead(204).end();
      },
    });
  }

  /**
   * The picture upload (`PUT /console/api/plan/image`): its body is the picture itself, larger than
   * the JSON API takes, so it is handled before the API router with the same checks (session, role
   * admin, Origin). Returns false for every other request.
   */
  upload(
    req: IncomingMessage,
    res: ServerResponse,
    o: { session(req: IncomingMessage): Session | undefined; allowedOrigins: readonly string[]; record(r: AuditRecord): void },
  ): boolean {
    if (req.method !== 'PUT' || new URL(req.url ?? '/', 'http://x').pathname !== '/console/api/plan/image') return false;
    const fail = (status: number, error: string) => {
      req.resume();
      sendJson(res, status, { error }, { connection: 'close' });
    };
    const s = o.session(req);
    if (!originAllowed(req.headers.origin ?? 'null', req.headers.host, o.allowedOrigins))
      return fail(403, `origin ${req.headers.origin ?? '(none)'} may not change anything here`), true;
    if (!s) return fail(401, 'log in first (your session ended or was never started)'), true;
    if (!mayDo(s.role, 'admin')) return fail(403, `role ${s.role} may not do this; it needs role admin`), true;
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    const magic = MAGIC[type];
    if (!magic) return fail(415, 'upload the plan as a PNG or JPEG picture (content-type image/png or image/jpeg)'), true;
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > PLAN_IMAGE_MAX) over = true;
      else chunks.push(c);
    });
    req.on('end', () => {
      const audit = (result: string) =>
        o.record({ user: s.user, role: s.role, from: req.socket.remoteAddress ?? 'unknown', action: 'plan.image', target: '', result, note: `${size} bytes` });
      if (over) return audit('refused: too large'), fail(413, `the picture is over ${PLAN_IMAGE_MAX / 1024 / 1024} MB; make it smaller`);
      const data = Buffer.concat(chunks);
      if (!data.subarray(0, magic.length).equals(magic)) return audit('refused: not a picture'), fail(400, `the body is not a ${type} picture`);
      const ext = type === 'image/png' ? 'png' : 'jpg';
      const path = `${this.o.imageBase}.${ext}`;
      writeFileSync(`${path}.tmp`, data);
      renameSync(`${path}.tmp`, path);
      rmSync(`${this.o.imageBase}.${ext === 'png' ? 'jpg' : 'png'}`, { force: true });
      audit('ok');
      sendJson(res, 200, { type, bytes: data.length });
    });
    return true;
  }
}
