/**
 * Alarm routes on the ops HTTP server: `GET /alarms` (active alarms as JSON; HTTP Basic with
 * a console account unless in demo mode) and `GET /alarms/console`, which now redirects to the
 * staff console at `/console/`.
 * Logins go through the gateway's LoginGuard, like every console login.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LoginGuard } from '../auth/login-guard.js';
import { type Alarm, summary } from '../core/alarm-types.js';
import { ConsoleLogin, type LoginResult, parseBasic, principalOf, refuse } from '../http/http-auth.js';
import type { FeedAccount } from './alarm-feed.js';

export interface AlarmRoutesOptions {
  route(path: string, handler: (req: IncomingMessage, res: ServerResponse) => void): void;
  /** Routes that need no HTTP Basic login (the redirect to the console, which logs people in itself). */
  mount?(path: string, handler: (req: IncomingMessage, res: ServerResponse) => void): void;
  activeAlarms(): Alarm[];
  accounts: readonly FeedAccount[];
  demo: boolean;
  /** The gateway's LoginGuard (shared with the feed and the ops server); one of its own if omitted. */
  loginGuard?: LoginGuard;
}

export function registerAlarmRoutes(o: AlarmRoutesOptions): void {
  const logins = new ConsoleLogin(o.accounts, o.loginGuard ?? new LoginGuard());
  o.route('/alarms', (req, res) => {
    void authorised(req, o.demo, logins).then((r) => {
      if (!r.ok) {
        refuse(res, r);
        return;
      }
      res
        .writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' })
        .end(JSON.stringify({ active: o.activeAlarms().map(summary) }));
    });
  });
  // The old one-table page: the staff console now lives at /console/.
  (o.mount ?? o.route)('/alarms/console', (_req, res) => {
    res.writeHead(301, { location: '/console/', 'cache-control': 'no-store' }).end();
  });
}

async function authorised(
  req: IncomingMessage,
  demo: boolean,
  logins: ConsoleLogin,
): Promise<{ ok: true } | { ok: false; reason: string; retryAfterMs?: number }> {
  if (demo) return { ok: true };
  // The ops server already checked this request (it asks for a login off loopback).
  if (principalOf(req)?.kind === 'account') return { ok: true };
  const basic = parseBasic(req.headers.authorization);
  if (!basic) return { ok: false, reason: 'missing' };
  const r: LoginResult = await logins.login(req.socket.remoteAddress ?? 'unknown', basic.username, basic.password);
  return r.ok ? { ok: true } : r;
}
