/**
 * The live alarm feed of the property staff console, over WebSocket at `/alarms/feed` on the
 * ops HTTP server. On connect (after login, or at once in demo mode) the client gets every
 * active alarm (`snapshot`), then every committed `alarm.*` event (`alarm`). Staff
 * acknowledge and resolve through it; their login name is recorded as who did it.
 *
 * Client -> gateway:  {op:"login", username, password} | {op:"ack", alarmId, note?} |
 *                     {op:"resolve", alarmId, note?} | {op:"list"}     (each may carry `req`, echoed)
 * Gateway -> client:  {type:"hello", demo, loginRequired, loginTimeoutMs?} |
 *                     {type:"login", ok, user?, role?, error?, retryAfterMs?} |
 *                     {type:"snapshot", alarms} | {type:"alarm", event} | {type:"result", req, ok, error?, alarm?}
 *
 * Guards: a browser page from another origin is refused (403) before the upgrade; so is a client
 * over `maxClients` (503). Outside demo mode a client that has not logged in within
 * `loginTimeoutMs` is closed (code 4001). Logins go through the gateway's LoginGuard, one at a
 * time per connection, so wrong guesses are throttled per source address.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import { LoginGuard } from '../auth/login-guard.js';
import { type Alarm, type LifecycleResult, summary } from '../core/alarm-types.js';
import type { EventEnvelope } from '../core/envelope.js';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { parseDuration } from '../core/time.js';
import { ConsoleLogin, parseBasic } from '../http/http-auth.js';

export const FEED_PATH = '/alarms/feed';
/** The same feed under /console, where the console's session cookie is sent (its Path is /console). */
export const CONSOLE_FEED_PATH = '/console/feed';

export interface FeedAccount {
  username: string;
  passwordHash: string;
  role: string;
}

export interface FeedEngine {
  activeAlarms(): Alarm[];
  acknowledge(id: string, by: string, note?: string): LifecycleResult;
  resolve(id: string, by: string, note?: string): LifecycleResult;
}

export interface AlarmFeedOptions {
  server: Server;
  engine: FeedEngine;
  accounts: readonly FeedAccount[];
  /** Demo mode: anonymous clients see the feed (read-only) without logging in. */
  demo: boolean;
  log: Logger;
  /** Roles that may acknowledge and resolve (default: reader = duty staff, admin). */
  actRoles?: readonly string[];
  /** A client whose send buffer exceeds this is dropped rather than slowing the gateway. */
  maxBufferedBytes?: number;
  onDelivered?: (env: EventEnvelope) => void;
  /** The gateway's LoginGuard (shared with the ops server's logins); one of its own if omitted. */
  loginGuard?: LoginGuard;
  /** Browser origins allowed besides the ops server's own host (scheme://host[:port]). */
  allowedOrigins?: readonly string[];
  /** Outside demo mode, a client not logged in by then is closed (default 10 s). */
  loginTimeoutMs?: number;
  /** Connections at once, logged in or not (default 32). */
  maxClients?: number;
  /** Told of each client turned away. */
  onRefused?: (reason: FeedRefusal) => void;
  /**
   * The console session of the upgrade request's cookie: such a client is logged in at once. Its
   * `alive()` is asked every 30 s (and keeps the session from idling out while the page watches);
   * once it says no (logout, lifetime over) the client is closed with 4001.
   */
  sessionOf?: (req: IncomingMessage) => { user: string; role: string; alive(): boolean } | undefined;
  /** How often clients are pinged and their sessions checked (default 30 s). */
  pingIntervalMs?: number;
  /** Told of each ack/resolve over the feed (the console's audit trail). */
  onAction?: (a: { user: string; role: string; from: string; action: string; target: string; note?: string; result: string }) => void;
}

export type FeedRefusal = 'feed-origin' | 'feed-capacity' | 'feed-login-timeout' | 'throttled';

/** Feed options from the site file's `http.consoleFeed` section. */
export function consoleFeedOptions(
  cfg: { allowedOrigins: readonly string[]; loginTimeout: string; maxClients: number } | undefined,
): Pick<AlarmFeedOptions, 'allowedOrigins' | 'loginTimeoutMs' | 'maxClients'> {
  if (!cfg) return {};
  return {
    allowedOrigins: cfg.allowedOrigins,
    loginTimeoutMs: parseDuration(cfg.loginTimeout),
    maxClients: cfg.maxClients,
  };
}

/** Close code for a client that did not log in in time (the console page then waits for its user). */
export const CLOSE_LOGIN_TIMEOUT = 4001;

interface Client {
  ws: WebSocket;
  source: string;
  user?: string;
  role?: string;
  live: boolean;
  alive: boolean;
  loggingIn: boolean;
  loginTimer?: NodeJS.Timeout;
  sessionAlive?: () => boolean;
}

const MAX_MESSAGE = 16 * 1024;

export class AlarmFeed {
  private readonly wss: WebSocketServer;
  private readonly clients = new Set<Client>();
  private readonly ping: NodeJS.Timeout;
  private readonly onUpgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  private readonly logins: ConsoleLogin;
  private upgrading = 0;

  constructor(private readonly o: AlarmFeedOptions) {
    this.wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE });
    this.logins = new ConsoleLogin(o.accounts, o.loginGuard ?? new LoginGuard());
    this.onUpgrade = (req, socket, head) => {
      const path = (req.url ?? '').split('?')[0];
      if (path !== FEED_PATH && path !== CONSOLE_FEED_PATH) return; // other upgrade handlers (e.g. video) may take it
      if (!originAllowed(req.headers.origin, req.headers.host, o.allowedOrigins ?? [])) {
        this.warnSometimes('feed-origin', { origin: req.headers.origin, source: req.socket.remoteAddress }, 'console feed: page of another origin refused');
        return this.refuseUpgrade(socket, 'feed-origin', 403, 'Forbidden', 'this page may not open the alarm feed');
      }
      if (this.clients.size + this.upgrading >= (o.maxClients ?? 32)) {
        this.warnSometimes('feed-capacity', { clients: this.clients.size, source: req.socket.remoteAddress }, 'console feed full; connection refused');
        return this.refuseUpgrade(socket, 'feed-capacity', 503, 'Service Unavailable', 'too many console connections');
      }
      this.upgrading++;
      let counted = true;
      const done = () => {
        if (counted) this.upgrading--;
        counted = false;
      };
      socket.once('close', done);
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        done();
        this.accept(ws, req);
      });
    };
    o.server.on('upgrade', this.onUpgrade);
    this.ping = setInterval(() => {
      for (const c of this.clients) {
        if (c.sessionAlive && !c.sessionAlive()) {
          c.ws.close(CLOSE_LOGIN_TIMEOUT, 'session ended; log in again');
          continue;
        }
        if (!c.alive) {
          c.ws.terminate();
          continue;
        }
        c.alive = false;
        c.ws.ping();
      }
    }, o.pingIntervalMs ?? 30_000);
    this.ping.unref();
  }

  get clientCount(): number {
    return this.clients.size;
  }

  /** Feeds one committed event; only `alarm.*` events go out. */
  publish(env: EventEnvelope, json?: string): void {
    if (!env.type.startsWith('alarm.') || !this.clients.size) return;
    const msg = `{"type":"alarm","event":${json ?? JSON.stringify(env)}}`;
    for (const c of this.clients) if (c.live) this.send(c, msg);
    this.o.onDelivered?.(env);
  }

  async close(): Promise<void> {
    clearInterval(this.ping);
    this.o.server.off('upgrade', this.onUpgrade);
    for (const c of this.clients) {
      clearTimeout(c.loginTimer);
      c.ws.terminate();
    }
    this.clients.clear();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  private readonly lastWarned = new Map<string, { at: number; suppressed: number }>();

  /** One log line per reason a minute at most (a flood of refusals must not flood the log); the counter sees all. */
  private warnSometimes(reason: string, fields: Record<string, unknown>, msg: string): void {
    const now = Date.now();
    const last = this.lastWarned.get(reason);
    if (last && now - last.at < 60_000) {
      last.suppressed++;
      return;
    }
    this.o.log.warn({ ...fields, ...(last?.suppressed ? { alsoRefusedSinceLastLine: last.suppressed } : {}) }, msg);
    this.lastWarned.set(reason, { at: now, suppressed: 0 });
  }

  private refuseUpgrade(socket: Duplex, reason: FeedRefusal, status: number, text: string, body: string): void {
    this.o.onRefused?.(reason);
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    socket.once('finish', () => socket.destroy());
    socket.end(
      `HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\n` +
        `Content-Length: ${Buffer.byteLength(body) + 1}\r\n\r\n${body}\n`,
    );
  }

  private accept(ws: WebSocket, req: IncomingMessage): void {
    const c: Client = { ws, source: req.socket.remoteAddress ?? 'unknown', live: false, alive: true, loggingIn: false };
    this.clients.add(c);
    const gone = () => {
      clearTimeout(c.loginTimer);
      this.clients.delete(c);
    };
    ws.on('pong', () => {
      c.alive = true;
    });
    ws.on('close', gone);
    ws.on('error', gone);
    ws.on('message', (data, isBinary) => {
      if (isBinary) return this.reply(c, { type: 'error', error: 'send JSON text messages' });
      void this.onMessage(c, data.toString());
    });
    const timeoutMs = this.o.loginTimeoutMs ?? 10_000;
    this.reply(c, {
      type: 'hello',
      demo: this.o.demo,
      loginRequired: !this.o.demo,
      ...(this.o.demo ? {} : { loginTimeoutMs: timeoutMs }),
    });
    if (!this.o.demo) {
      // In demo mode anonymous clients are live at once; otherwise they must log in, and soon.
      c.loginTimer = setTimeout(() => {
        if (c.user) return;
        this.o.onRefused?.('feed-login-timeout');
        this.warnSometimes('feed-login-timeout', { source: c.source }, 'console feed client did not log in in time; closed');
        ws.close(CLOSE_LOGIN_TIMEOUT, 'log in first');
      }, timeoutMs);
      c.loginTimer.unref();
    }
    const session = this.o.sessionOf?.(req);
    const basic = parseBasic(req.headers.authorization);
    c.sessionAlive = session?.alive;
    if (session) this.loggedIn(c, session.user, session.role);
    else if (basic) void this.login(c, basic.username, basic.password);
    else if (this.o.demo) this.goLive(c);
  }

  private goLive(c: Client): void {
    c.live = true;
    this.reply(c, {
      type: 'snapshot',
      alarms: this.o.engine.activeAlarms().map((a) => ({ ...summary(a), history: a.history })),
    });
  }

  private async login(c: Client, username: string, password: string, req?: unknown): Promise<void> {
    if (c.loggingIn) {
      this.reply(c, { type: 'login', req, ok: false, error: 'a login is already being checked; wait for its answer' });
      return;
    }
    c.loggingIn = true;
    let r: Awaited<ReturnType<ConsoleLogin['login']>>;
    try {
      r = await this.logins.login(c.source, username, password);
    } finally {
      c.loggingIn = false;
    }
    if (!r.ok) {
      if (r.reason === 'throttled') {
        this.o.onRefused?.('throttled');
        this.warnSometimes('throttled', { user: username, source: c.source }, 'console login throttled');
        const s = Math.max(1, Math.ceil((r.retryAfterMs ?? 1000) / 1000));
        this.reply(c, {
          type: 'login',
          req,
          ok: false,
          error: `too many failed logins; try again in ${s} s`,
          retryAfterMs: r.retryAfterMs,
        });
      } else {
        this.o.log.warn({ user: username, source: c.source }, 'console login refused');
        this.reply(c, { type: 'login', req, ok: false, error: 'wrong user name or password' });
      }
      return;
    }
    this.o.log.info({ audit: 'console-login', user: r.account.username }, 'console login');
    this.loggedIn(c, r.account.username, r.account.role, req);
  }

  private loggedIn(c: Client, user: string, role: string, req?: unknown): void {
    clearTimeout(c.loginTimer);
    c.user = user;
    c.role = role;
    this.reply(c, { type: 'login', req, ok: true, user, role });
    this.goLive(c);
  }

  private async onMessage(c: Client, text: string): Promise<void> {
    let m: {
      op?: unknown;
      req?: unknown;
      alarmId?: unknown;
      note?: unknown;
      username?: unknown;
      password?: unknown;
    };
    try {
      m = JSON.parse(text);
    } catch {
      return this.reply(c, { type: 'error', error: 'not JSON' });
    }
    const req = m.req;
    try {
      switch (m.op) {
        case 'login':
          if (typeof m.username !== 'string' || typeof m.password !== 'string') {
            return this.reply(c, {
              type: 'login',
              req,
              ok: false,
              error: 'username and password are required',
            });
          }
          return await this.login(c, m.username, m.password, req);
        case 'list':
          if (!c.live) return this.reply(c, { type: 'result', req, ok: false, error: 'log in first' });
          return this.goLive(c);
        case 'ack':
        case 'resolve': {
          if (!c.user)
            return this.reply(c, {
              type: 'result',
              req,
              ok: false,
              error: 'log in to acknowledge or resolve',
            });
          if (!(this.o.actRoles ?? ['reader', 'admin']).includes(c.role ?? '')) {
            return this.reply(c, { type: 'result', req, ok: false, error: `role ${c.role} may not ${m.op}` });
          }
          if (typeof m.alarmId !== 'string')
            return this.reply(c, { type: 'result', req, ok: false, error: 'alarmId is required' });
          const note = typeof m.note === 'string' ? m.note.slice(0, 500) : undefined;
          const latched = this.o.engine.activeAlarms().find((a) => a.id === m.alarmId)?.latch;
          if (m.op === 'resolve' && latched && !note?.trim()) {
            return this.reply(c, { type: 'result', req, ok: false, error: 'a latched alarm is reset with a note: send note' });
          }
          const r =
            m.op === 'ack'
              ? this.o.engine.acknowledge(m.alarmId, c.user, note)
              : this.o.engine.resolve(m.alarmId, c.user, note);
          this.o.log.info(
            { audit: `alarm-${m.op}`, user: c.user, alarm: m.alarmId, ok: r.ok },
            `alarm ${m.op}`,
          );
          const result = r.ok ? 'ok' : `refused: ${r.error}`;
          this.o.onAction?.({ user: c.user, role: c.role ?? '', from: c.source, action: m.op, target: m.alarmId, note, result });
          return this.reply(
            c,
            r.ok
              ? { type: 'result', req, ok: true, alarm: summary(r.alarm) }
              : { type: 'result', req, ok: false, error: r.error },
          );
        }
        default:
          return this.reply(c, {
            type: 'result',
            req,
            ok: false,
            error: 'unknown op: use login, list, ack or resolve',
          });
      }
    } catch (err) {
      this.reply(c, { type: 'result', req, ok: false, error: errorMessage(err) });
    }
  }

  private reply(c: Client, msg: Record<string, unknown>): void {
    this.send(c, JSON.stringify(msg));
  }

  private send(c: Client, text: string): void {
    if (c.ws.readyState !== WebSocket.OPEN) return;
    if (c.ws.bufferedAmount > (this.o.maxBufferedBytes ?? 4 * 1024 * 1024)) {
      this.o.log.warn({ user: c.user }, 'console feed client too slow; dropped');
      c.ws.terminate();
      this.clients.delete(c);
      return;
    }
    c.ws.send(text);
  }
}

/**
 * A browser sends the Origin of the page that opens the socket: it must be the ops server itself
 * (the Host the browser connected to) or one of `allowed`. No Origin: not a browser, allowed
 * (it still has to log in). `null` (sandboxed or file pages) is refused.
 */
export function originAllowed(
  origin: string | undefined,
  host: string | undefined,
  allowed: readonly string[],
): boolean {
  if (origin === undefined) return true;
  let u: URL;
  try {
    u = new URL(origin);
  } catch {
    return false;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return false;
  if (allowed.some((a) => sameOrigin(a, u.origin))) return true;
  if (!host) return false;
  try {
    return new URL(`${u.protocol}//${host}`).host === u.host;
  } catch {
    return false;
  }
}

function sameOrigin(a: string, origin: string): boolean {
  try {
    return new URL(a).origin === origin;
  } catch {
    return false;
  }
}
