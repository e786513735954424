/**
 * The property staff console at `/console/`: the browser app (console-assets.ts) and its API
 * (`/console/api/...`, console-router.ts). Duty staff (role `reader`) and admins log in with a
 * console account of `broker.accounts` through the gateway's LoginGuard and get a session cookie.
 *
 *   POST /console/api/login   {username, password}  -> {user, role} + cookie | 401 | 429 {retryAfterMs}
 *   POST /console/api/logout                          -> 204
 *   GET  /console/api/session                         -> {user, role, idleTimeoutMs} | 401
 *   GET  /console/api/alarms                          -> {active: [alarm without history]}
 *   GET  /console/api/alarms/:id                      -> the alarm with its history
 *   POST /console/api/alarms/:id/ack      {note?}     (reader)
 *   POST /console/api/alarms/:id/resolve  {note?}     (reader; not for latched alarms)
 *   POST /console/api/alarms/:id/reset    {note}      (reader; latched alarms, a note is required)
 *   GET  /console/api/audit?limit&before              (admin)
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Alarm, type LifecycleResult, summary } from '../core/alarm-types.js';
import type { Logger } from '../core/logger.js';
import type { ConsoleLogin } from '../http/http-auth.js';
import type { ConsoleAssets } from './console-assets.js';
import type { ConsoleAudit } from './console-audit.js';
import { ApiRouter, HttpError, optionalText, sendJson } from './console-router.js';
import { type ConsoleSessions, clearedCookie, overTls, sessionCookie } from './sessions.js';

export const CONSOLE_PREFIX = '/console';

export interface ConsoleEngine {
  activeAlarms(): Alarm[];
  get(id: string): Alarm | undefined;
  acknowledge(id: string, by: string, note?: string): LifecycleResult;
  resolve(id: string, by: string, note?: string): LifecycleResult;
}

export interface ConsoleAppOptions {
  /** Being built at start when the gateway runs from source: static requests wait for it. */
  assets: Promise<ConsoleAssets>;
  sessions: ConsoleSessions;
  audit: ConsoleAudit;
  logins: ConsoleLogin;
  engine: ConsoleEngine;
  idleTimeoutMs: number;
  allowedOrigins: readonly string[];
  log: Logger;
}

export class ConsoleApp {
  readonly api: ApiRouter;

  constructor(private readonly o: ConsoleAppOptions) {
    this.api = new ApiRouter({
      session: (req) => o.sessions.of(req),
      record: (r) => o.audit.record(r),
      allowedOrigins: o.allowedOrigins,
      warn: (fields, msg) => o.log.warn(fields, msg),
    });
    this.addSessionRoutes();
    this.addAlarmRoutes();
    this.api.add({
      method: 'GET',
      path: '/audit',
      role: 'admin',
      handler: ({ res, query }) =>
        sendJson(res, 200, {
          entries: o.audit.list({
            limit: Number(query.get('limit') ?? 100) || 100,
            before: query.has('before') ? Number(query.get('before')) : undefined,
          }),
        }),
    });
  }

  /** Every request under /console (any method). */
  handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://console');
    const path = url.pathname;
    if (path === CONSOLE_PREFIX) {
      res.writeHead(308, { location: `${CONSOLE_PREFIX}/` }).end();
      return;
    }
    if (path.startsWith(`${CONSOLE_PREFIX}/api/`)) {
      void this.api.handle(req, res, path.slice(`${CONSOLE_PREFIX}/api`.length), url.searchParams);
      return;
    }
    const name = path.slice(CONSOLE_PREFIX.length + 1);
    const notFound = (): void =>
      void res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${path} (the console is at ${CONSOLE_PREFIX}/)\n`);
    if (req.method !== 'GET' || !/^[\w.-]*$/.test(name)) return notFound();
    this.o.assets.then(
      (assets) => {
        if (!assets.serve(name, res)) notFound();
      },
      (err: unknown) => {
        this.o.log.error({ err: String(err) }, 'console UI bundle unavailable');
        res.writeHead(500, { 'content-type': 'text/plain' }).end('the console UI could not be built; see the gateway log\n');
      },
    );
  }

  private addSessionRoutes(): void {
    const o = this.o;
    this.api.add({
      method: 'POST',
      path: '/login',
      role: 'public',
      handler: async ({ req, res, body, from }) => {
        const { username, password } = body;
        if (typeof username !== 'string' || typeof password !== 'string' || !username) {
          throw new HttpError(400, 'username and password are required');
        }
        const r = await o.logins.login(from, username, password);
        if (!r.ok && r.reason === 'throttled') {
          const s = Math.max(1, Math.ceil((r.retryAfterMs ?? 1000) / 1000));
          o.log.warn({ user: username, source: from }, 'console login throttled');
          throw new HttpError(429, `too many failed logins; try again in ${s} s`, { retryAfterMs: s * 1000 }, { 'retry-after': String(s) });
        }
        if (!r.ok) {
          o.log.warn({ user: username, source: from }, 'console login refused');
          o.audit.record({ user: username, role: '', from, action: 'login', target: '', result: 'refused: wrong user name or password' });
          throw new HttpError(401, 'wrong user name or password');
        }
        const s = o.sessions.create(r.account.username, r.account.role, from);
        o.audit.record({ user: s.user, role: s.role, from, action: 'login', target: '', result: 'ok' });
        o.log.info({ audit: 'console-login', user: s.user, source: from }, 'console login');
        sendJson(res, 200, { user: s.user, role: s.role, idleTimeoutMs: o.idleTimeoutMs }, {
          'set-cookie': sessionCookie(s.id, overTls(req)),
        });
      },
    });
    this.api.add({
      method: 'POST',
      path: '/logout',
      role: 'public',
      handler: ({ req, res, session, audit }) => {
        if (session) {
          o.sessions.end(session.id);
          audit('logout', '', 'ok');
        }
        res.writeHead(204, { 'set-cookie': clearedCookie(overTls(req)), 'cache-control': 'no-store' }).end();
      },
    });
    this.api.add({
      method: 'GET',
      path: '/session',
      role: 'reader',
      handler: ({ res, session }) =>
        sendJson(res, 200, { user: session!.user, role: session!.role, idleTimeoutMs: o.idleTimeoutMs }),
    });
  }

  private addAlarmRoutes(): void {
    const o = this.o;
    this.api.add({
      method: 'GET',
      path: '/alarms',
      role: 'reader',
      handler: ({ res }) => sendJson(res, 200, { active: o.engine.activeAlarms().map(summary) }),
    });
    this.api.add({
      method: 'GET',
      path: '/alarms/:id',
      role: 'reader',
      handler: ({ res, params }) => {
        const a = o.engine.get(params.id!);
        if (!a) throw new HttpError(404, `no alarm ${params.id}`);
        sendJson(res, 200, a);
      },
    });
    for (const op of ['ack', 'resolve', 'reset'] as const) {
      this.api.add({
        method: 'POST',
        path: `/alarms/:id/${op}`,
        role: 'reader',
        handler: ({ res, params, body, session, audit }) => {
          const id = params.id!;
          const note = optionalText(body, 'note');
          const refuse = (status: number, why: string): never => {
            audit(op, id, `refused: ${why}`, note);
            throw new HttpError(status, why);
          };
          const a = o.engine.get(id);
          if (!a?.active) refuse(404, `no active alarm ${id}`);
          if (op === 'resolve' && a!.latch) refuse(409, 'a latched alarm is ended by a reset with a note, not resolved');
          if (op === 'reset' && !a!.latch) refuse(409, 'only latched alarms are reset; resolve this one');
          if (op === 'reset' && !note) refuse(400, 'a reset needs a note: what was found and done on site');
          const r =
            op === 'ack' ? o.engine.acknowledge(id, session!.user, note) : o.engine.resolve(id, session!.user, note);
          if (!r.ok) refuse(409, r.error);
          audit(op, id, 'ok', note);
          o.log.info({ audit: `alarm-${op}`, user: session!.user, alarm: id }, `alarm ${op}`);
          sendJson(res, 200, summary((r as { alarm: Alarm }).alarm));
        },
      });
    }
  }
}
