/**
 * Operations endpoints: `GET /healthz` (JSON, 200 when ready, 503 otherwise) and `GET /metrics`
 * (Prometheus), plus the routes components add (alarms at /alarms) and the staff console at
 * /console/ (mounted: it logs its users in itself, with session cookies).
 *
 * With `security.requireLogin` (the default on any non-loopback address, see http-auth.ts) every
 * path but /healthz answers 401 without a console login (or, on /metrics, the metrics token),
 * and /healthz tells anonymous callers only whether the gateway is up.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, type Registry } from 'prom-client';
import { LoginGuard } from '../auth/login-guard.js';
import { errorMessage } from '../core/errors.js';
import {
  type ConsoleAccount,
  ConsoleLogin,
  HttpAuth,
  loginRequired,
  readMetricsToken,
  refuse,
  setPrincipal,
} from './http-auth.js';

export interface HttpSecurity {
  /** Every path but /healthz needs a login (see `loginRequired`). */
  requireLogin: boolean;
  /** Console accounts (reader, admin; device accounts are never let in). */
  accounts: readonly ConsoleAccount[];
  /** File with the bearer token accepted on /metrics. */
  metricsTokenFile?: string;
  /** The gateway's one LoginGuard (shared with the console feed); one of its own if omitted. */
  loginGuard?: LoginGuard;
  /** Told of what deserves a warning: a token file others may read, a request that failed. */
  warn?: (msg: string) => void;
}

export interface HttpOptions {
  /** The configured address: it decides, through `security`, whether a login is needed. */
  host: string;
  port: number;
  /**
   * Test seam: listen here instead of `host` (e.g. 127.0.0.1 for a configuration that names a
   * LAN address). Production leaves it unset.
   */
  listenHost?: string;
  health: () => { ok: boolean; status?: unknown; [k: string]: unknown };
  registry: Registry;
  /** Omitted: no login anywhere (as on loopback). */
  security?: HttpSecurity;
}

/** The security settings of a site config for `startHttp`. */
export function httpSecurity(config: {
  http: { host: string; requireLogin?: boolean; metricsTokenFile?: string };
  broker: { accounts: readonly ConsoleAccount[] };
}): HttpSecurity {
  return {
    requireLogin: loginRequired(config.http),
    accounts: config.broker.accounts,
    metricsTokenFile: config.http.metricsTokenFile,
  };
}

/** A GET route added by a component (e.g. the alarm console at /alarms). */
export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => void;

/** Why the ops server or the console feed turned a client away (the `reason` label of the counter). */
export type RefusalReason =
  | 'no-login'
  | 'bad-credentials'
  | 'throttled'
  | 'feed-origin'
  | 'feed-capacity'
  | 'feed-login-timeout';

export async function startHttp(o: HttpOptions): Promise<{
  server: Server;
  url: string;
  route(path: string, handler: RouteHandler): void;
  /**
   * Hands every request (any method) for `prefix` and the paths under it to `handler`, which does
   * its own login (the staff console's session cookies): the HTTP Basic gate does not apply there.
   */
  mount(prefix: string, handler: RouteHandler): void;
  /** The LoginGuard of this gateway's console logins (HTTP and the feed). */
  loginGuard: LoginGuard;
  /** Counts a refused client in `gateway_ops_refused_total`. */
  countRefusal(reason: RefusalReason): void;
  close(): Promise<void>;
}> {
  const routes = new Map<string, RouteHandler>();
  const mounts = new Map<string, RouteHandler>();
  const mounted = (path: string): RouteHandler | undefined => {
    for (const [prefix, h] of mounts) if (path === prefix || path.startsWith(`${prefix}/`)) return h;
    return undefined;
  };
  const sec = o.security;
  const loginGuard = sec?.loginGuard ?? new LoginGuard();
  const metricsToken = sec?.metricsTokenFile ? readMetricsToken(sec.metricsTokenFile, sec.warn) : undefined;
  const auth = new HttpAuth(new ConsoleLogin(sec?.accounts ?? [], loginGuard), metricsToken);
  const gate = sec?.requireLogin ?? false;
  const refused = new Counter({
    name: 'gateway_ops_refused_total',
    help: 'Clients the ops server or the console feed refused, by reason',
    labelNames: ['reason'] as const,
    registers: [o.registry],
  });
  const countRefusal = (reason: RefusalReason) => refused.inc({ reason });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0] ?? '';
    const own = mounted(path);
    if (own) {
      own(req, res);
      return;
    }
    if (req.method !== 'GET') {
      res.writeHead(405, { allow: 'GET' }).end();
      return;
    }
    if (path === '/healthz') {
      const h = o.health();
      // Off loopback, anonymous callers learn only whether the gateway is up.
      const full = !gate || (!!req.headers.authorization && (await auth.authenticate(req, { token: true })).ok);
      const body = full ? h : { ok: h.ok, status: h.status ?? (h.ok ? 'ok' : 'unavailable') };
      res
        .writeHead(h.ok ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' })
        .end(JSON.stringify(body));
      return;
    }
    if (gate) {
      const r = await auth.authenticate(req, { token: path === '/metrics' });
      if (!r.ok) {
        countRefusal(r.reason === 'missing' ? 'no-login' : r.reason);
        refuse(res, r);
        return;
      }
      setPrincipal(req, r.principal);
    }
    if (path === '/metrics') {
      o.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': o.registry.contentType }).end(text),
        (err) => res.writeHead(500).end(String(err)),
      );
      return;
    }
    const handler = routes.get(path);
    if (handler) {
      handler(req, res);
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /healthz or /metrics\n');
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      sec?.warn?.(`ops request ${req.url} failed: ${errorMessage(err)}`);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('internal error\n');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.listenHost ?? o.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const shownHost = o.listenHost ?? o.host;
  return {
    server,
    url: `http://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${port}`,
    route: (path, handler) => void routes.set(path, handler),
    mount: (prefix, handler) => void mounts.set(prefix, handler),
    loginGuard,
    countRefusal,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
