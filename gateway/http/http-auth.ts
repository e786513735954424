/**
 * Who may use the ops server. On a loopback address nothing changes (no login); on any other
 * address every path but `/healthz` needs either
 *  - HTTP Basic with a console account of `broker.accounts` (role reader or admin; device
 *    accounts never), verified through the gateway's shared LoginGuard (wrong guesses throttled), or
 *  - on `/metrics` only, the bearer token of `http.metricsTokenFile` (for Prometheus scrapers).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BlockList, isIP } from 'node:net';
import type { LoginGuard } from '../auth/login-guard.js';
import { GatewayError } from '../core/errors.js';

/** An account that may log in to the console (the feed, /alarms, and the ops server off loopback). */
export interface ConsoleAccount {
  username: string;
  passwordHash: string;
  role: string;
}

/** Roles that may log in to the console; `device` accounts never can. */
export const CONSOLE_ROLES: readonly string[] = ['reader', 'admin'];

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/** 127.0.0.0/8, ::1 (also IPv4-mapped) and `localhost`; never the wildcard addresses or other names. */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (h === 'localhost' || h === 'localhost.') return true;
  const family = isIP(h);
  return family !== 0 && LOOPBACK.check(h, family === 6 ? 'ipv6' : 'ipv4');
}

/** Whether the ops server asks for a login: `http.requireLogin` if set, else on any non-loopback host. */
export function loginRequired(http: { host: string; requireLogin?: boolean }): boolean {
  return http.requireLogin ?? !isLoopbackHost(http.host);
}

export type LoginResult =
  | { ok: true; account: ConsoleAccount }
  | { ok: false; reason: 'bad-credentials' | 'throttled'; retryAfterMs?: number };

/** Console logins, all through one LoginGuard: unknown users, device accounts and wrong passwords look the same. */
export class ConsoleLogin {
  constructor(
    private readonly accounts: readonly ConsoleAccount[],
    readonly guard: LoginGuard,
  ) {}

  async login(source: string, username: string, password: Buffer | string): Promise<LoginResult> {
    const account = this.accounts.find((a) => a.username === username && CONSOLE_ROLES.includes(a.role));
    let outcome: Awaited<ReturnType<LoginGuard['login']>>;
    try {
      outcome = await this.guard.login(source, username, password, account?.passwordHash);
    } catch {
      outcome = { ok: false, reason: 'bad-credentials' };
    }
    if (outcome.ok && account) return { ok: true, account };
    if (outcome.ok) return { ok: false, reason: 'bad-credentials' };
    return { ok: false, reason: outcome.reason, retryAfterMs: outcome.retryAfterMs };
  }
}

export type Principal = { kind: 'account'; user: string; role: string } | { kind: 'metrics-token' };

export type AuthResult =
  | { ok: true; principal: Principal }
  | { ok: false; reason: 'missing' | 'bad-credentials' | 'throttled'; retryAfterMs?: number };

/** The account name the LoginGuard sees for wrong bearer tokens (so they are throttled like passwords). */
const TOKEN_USER = '(metrics token)';

export class HttpAuth {
  private readonly tokenDigest?: Buffer;

  constructor(
    readonly login: ConsoleLogin,
    metricsToken?: string,
  ) {
    if (metricsToken !== undefined) this.tokenDigest = digest(metricsToken);
  }

  /** Checks the Authorization header; the bearer token counts only where `token` is true (/metrics). */
  async authenticate(req: IncomingMessage, o: { token: boolean }): Promise<AuthResult> {
    const source = req.socket.remoteAddress ?? 'unknown';
    const header = req.headers.authorization ?? '';
    const basic = parseBasic(header);
    if (basic) {
      const r = await this.login.login(source, basic.username, basic.password);
      if (r.ok) return { ok: true, principal: { kind: 'account', user: r.account.username, role: r.account.role } };
      return r;
    }
    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1];
    if (bearer === undefined) return { ok: false, reason: 'missing' };
    if (o.token && this.tokenDigest && timingSafeEqual(digest(bearer), this.tokenDigest)) {
      return { ok: true, principal: { kind: 'metrics-token' } };
    }
    // A wrong token (or a token where none is accepted) counts as a failed login of this source.
    const r = await this.login.login(source, TOKEN_USER, bearer);
    return r.ok ? { ok: false, reason: 'bad-credentials' } : r;
  }
}

const principals = new WeakMap<IncomingMessage, Principal>();

/** Remembers who the ops server let in, so a route does not verify the same request twice. */
export function setPrincipal(req: IncomingMessage, p: Principal): void {
  principals.set(req, p);
}

/** Who the ops server let in for this request, if it checked. */
export function principalOf(req: IncomingMessage): Principal | undefined {
  return principals.get(req);
}

export const REALM = 'gateway console';

/** 401 with a Basic challenge (or 429 with Retry-After when the source is throttled). Says nothing else. */
export function refuse(res: ServerResponse, r: { reason: string; retryAfterMs?: number }): void {
  if (r.reason === 'throttled') {
    const s = Math.max(1, Math.ceil((r.retryAfterMs ?? 1000) / 1000));
    res
      .writeHead(429, { 'retry-after': String(s), 'content-type': 'text/plain', 'cache-control': 'no-store' })
      .end(`too many failed logins; try again in ${s} s\n`);
    return;
  }
  res
    .writeHead(401, {
      'www-authenticate': `Basic realm="${REALM}", charset="UTF-8"`,
      'content-type': 'text/plain',
      'cache-control': 'no-store',
    })
    .end('log in with a console account\n');
}

export function parseBasic(h: string | undefined): { username: string; password: string } | undefined {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(h ?? '');
  if (!m) return undefined;
  const text = Buffer.from(m[1]!, 'base64').toString('utf8');
  const i = text.indexOf(':');
  return i < 0 ? undefined : { username: text.slice(0, i), password: text.slice(i + 1) };
}

const MIN_TOKEN = 24;
const MAX_TOKEN_FILE = 4096;

/**
 * Reads the metrics bearer token: the file's content without surrounding white space.
 * Refuses a missing, empty, short or oversized file. `warn` hears of a file others may read.
 */
export function readMetricsToken(file: string, warn?: (msg: string) => void): string {
  const fail = (why: string) =>
    new GatewayError(
      'HTTP_METRICS_TOKEN',
      `http.metricsTokenFile ${file}: ${why}`,
      `put a random token of at least ${MIN_TOKEN} characters in it, e.g. \`head -c 32 /dev/urandom | base64 > ${file}; chmod 600 ${file}\``,
    );
  let fd: number | undefined;
  let text: string;
  try {
    fd = openSync(file, 'r');
    const st = fstatSync(fd);
    if (!st.isFile()) throw fail('not a regular file');
    if (st.size > MAX_TOKEN_FILE) throw fail(`${st.size} bytes; a token file holds one token`);
    if (st.mode & 0o077) warn?.(`${file} may be read by other users of this machine (chmod 600 it)`);
    const buf = Buffer.alloc(st.size);
    const n = st.size ? readSync(fd, buf, 0, st.size, 0) : 0;
    text = buf.toString('utf8', 0, n).trim();
  } catch (err) {
    if (err instanceof GatewayError) throw err;
    throw fail(`cannot read it (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  if (/\s/.test(text)) throw fail('holds more than one word; a token file holds one token');
  if (text.length < MIN_TOKEN) throw fail(`the token is ${text.length} characters; at least ${MIN_TOKEN} are needed`);
  return text;
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}
