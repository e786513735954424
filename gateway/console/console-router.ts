/**
 * The console's HTTP API router under `/console/api/`: routes by method and path pattern
 * (`/alarms/:id/ack`), each with the least role it needs. It checks, before any handler runs:
 *  - a session (cookie) unless the route is public (login) — else 401;
 *  - the role: `reader` routes are for duty staff and admins, `admin` routes for admins — else 403;
 *  - on state-changing methods, `content-type: application/json` and an `Origin` of the gateway
 *    itself (or an allowed origin) — else 403 (with SameSite=Strict cookies, the CSRF defence).
 * A page adds its API with `add()` and records what people do with `ctx.audit()`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { errorMessage } from '../core/errors.js';
import { originAllowed } from './alarm-feed.js';
import type { AuditRecord } from './console-audit.js';
import type { Session } from './sessions.js';

export type Role = 'reader' | 'admin';
const RANK: Record<string, number> = { reader: 1, admin: 2 };

/** Whether an account of `role` may do what needs `needed`. */
export const mayDo = (role: string, needed: Role): boolean => (RANK[role] ?? 0) >= RANK[needed]!;

export interface ApiContext {
  req: IncomingMessage;
  res: ServerResponse;
  /** Undefined only on public routes. */
  session?: Session;
  params: Record<string, string>;
  query: URLSearchParams;
  /** The JSON body of POST/PUT/DELETE ({} when empty). */
  body: Record<string, unknown>;
  /** Remote address. */
  from: string;
  /** Records an action of this session's user in the audit trail. */
  audit(action: string, target: string, result: string, note?: string): void;
}

export interface ApiRoute {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Under /console/api, e.g. `/alarms/:id`. */
  path: string;
  /** Least role; `public` needs no session (login). */
  role: Role | 'public';
  handler(ctx: ApiContext): void | Promise<void>;
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res
    .writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers })
    .end(JSON.stringify(body));
}

const MAX_BODY = 16 * 1024;

export interface RouterOptions {
  session(req: IncomingMessage): Session | undefined;
  record(r: AuditRecord): void;
  /** Origins besides the gateway's own that may send state-changing requests. */
  allowedOrigins: readonly string[];
  warn(fields: Record<string, unknown>, msg: string): void;
}

export class ApiRouter {
  private readonly routes: { route: ApiRoute; pattern: RegExp; names: string[] }[] = [];

  constructor(private readonly o: RouterOptions) {}

  add(route: ApiRoute): void {
    const names: string[] = [];
    const src = route.path.replace(/:(\w+)/g, (_m, n: string) => {
      names.push(n);
      return '([^/]+)';
    });
    this.routes.push({ route, pattern: new RegExp(`^${src}$`), names });
  }

  /** Handles `path` (after /console/api); answers 404 when no route has it. */
  async handle(req: IncomingMessage, res: ServerResponse, path: string, query: URLSearchParams): Promise<void> {
    try {
      let found = false;
      for (const { route, pattern, names } of this.routes) {
        const m = pattern.exec(path);
        if (!m) continue;
        found = true;
        if (route.method !== req.method) continue;
        const params = Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(m[i + 1]!)]));
        return await this.run(route, req, res, params, query);
      }
      throw new HttpError(found ? 405 : 404, found ? `${req.method} is not allowed here` : `no console API ${path}`);
    } catch (err) {
      if (err instanceof HttpError) return sendJson(res, err.status, { error: err.message, ...err.extra }, err.headers);
      this.o.warn({ err: errorMessage(err), path }, 'console API request failed');
      sendJson(res, 500, { error: 'internal error; see the gateway log' });
    }
  }

  private async run(
    route: ApiRoute,
    req: IncomingMessage,
    res: ServerResponse,
    params: Record<string, string>,
    query: URLSearchParams,
  ): Promise<void> {
    const changes = req.method !== 'GET';
    if (changes) this.checkCsrf(req);
    const session = this.o.session(req);
    if (route.role !== 'public') {
      if (!session) throw new HttpError(401, 'log in first (your session ended or was never started)');
      if (!mayDo(session.role, route.role))
        throw new HttpError(403, `role ${session.role} may not do this; it needs role ${route.role}`);
    }
    const body = changes ? await readJson(req) : {};
    const from = req.socket.remoteAddress ?? 'unknown';
    await route.handler({
      req,
      res,
      session,
      params,
      query,
      body,
      from,
      audit: (action, target, result, note) =>
        this.o.record({ user: session?.user ?? '', role: session?.role ?? '', from, action, target, result, note }),
    });
  }

  private checkCsrf(req: IncomingMessage): void {
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/json') throw new HttpError(415, 'send the request body as content-type: application/json');
    const origin = req.headers.origin;
    if (!origin || !originAllowed(origin, req.headers.host, this.o.allowedOrigins)) {
      throw new HttpError(403, `origin ${origin ?? '(none)'} may not change anything here; send Origin: the console's own address`);
    }
  }
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > MAX_BODY) throw new HttpError(413, `request body over ${MAX_BODY} bytes`);
    chunks.push(c);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (!text) return {};
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new HttpError(400, 'the body is not JSON');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new HttpError(400, 'the body must be a JSON object');
  return v as Record<string, unknown>;
}

/** An optional string field of a body, trimmed, at most `max` characters. */
export function optionalText(body: Record<string, unknown>, field: string, max = 500): string | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new HttpError(400, `${field} must be a string`);
  const s = v.trim();
  if (s.length > max) throw new HttpError(400, `${field} is over ${max} characters`);
  return s || undefined;
}
