/**
 * The live alarm feed of the property staff console, over WebSocket at `/alarms/feed` on the
 * ops HTTP server. On connect (after login, or at once in demo mode) the client gets every
 * active alarm (`snapshot`), then every committed `alarm.*` event (`alarm`). Staff
 * acknowledge and resolve through it; their login name is recorded as who did it.
 *
 * Client -> gateway:  {op:"login", username, password} | {op:"ack", alarmId, note?} |
 *                     {op:"resolve", alarmId, note?} | {op:"list"}     (each may carry `req`, echoed)
 * Gateway -> client:  {type:"hello", demo, loginRequired} | {type:"login", ok, user?, role?, error?} |
 *                     {type:"snapshot", alarms} | {type:"alarm", event} | {type:"result", req, ok, error?, alarm?}
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import { type LifecycleResult, summary } from '../alarms/alarm-engine.js';
import type { Alarm } from '../alarms/alarm-types.js';
import { verifyPasswordAsync } from '../broker/password.js';
import type { EventEnvelope } from '../core/envelope.js';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';

export const FEED_PATH = '/alarms/feed';

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
}

interface Client {
  ws: WebSocket;
  user?: string;
  role?: string;
  live: boolean;
  alive: boolean;
}

const MAX_MESSAGE = 16 * 1024;

export class AlarmFeed {
  private readonly wss: WebSocketServer;
  private readonly clients = new Set<Client>();
  private readonly ping: NodeJS.Timeout;
  private readonly onUpgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

  constructor(private readonly o: AlarmFeedOptions) {
    this.wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE });
    this.onUpgrade = (req, socket, head) => {
      const path = (req.url ?? '').split('?')[0];
      if (path !== FEED_PATH) return; // other upgrade handlers (e.g. video) may take it
      this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, req));
    };
    o.server.on('upgrade', this.onUpgrade);
    this.ping = setInterval(() => {
      for (const c of this.clients) {
        if (!c.alive) {
          c.ws.terminate();
          continue;
        }
        c.alive = false;
        c.ws.ping();
      }
    }, 30_000);
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
    for (const c of this.clients) c.ws.terminate();
    this.clients.clear();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  private accept(ws: WebSocket, req: IncomingMessage): void {
    const c: Client = { ws, live: false, alive: true };
    this.clients.add(c);
    ws.on('pong', () => {
      c.alive = true;
    });
    ws.on('close', () => this.clients.delete(c));
    ws.on('error', () => this.clients.delete(c));
    ws.on('message', (data, isBinary) => {
      if (isBinary) return this.reply(c, { type: 'error', error: 'send JSON text messages' });
      void this.onMessage(c, data.toString());
    });
    this.reply(c, { type: 'hello', demo: this.o.demo, loginRequired: !this.o.demo });
    const basic = parseBasic(req.headers.authorization);
    if (basic) void this.login(c, basic.username, basic.password);
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
    const acct = this.o.accounts.find((a) => a.username === username);
    let ok: boolean;
    try {
      ok = !!acct && (await verifyPasswordAsync(password, acct.passwordHash));
    } catch {
      ok = false;
    }
    if (!ok || !acct || acct.role === 'device') {
      this.o.log.warn({ user: username }, 'console login refused');
      this.reply(c, { type: 'login', req, ok: false, error: 'wrong user name or password' });
      return;
    }
    c.user = acct.username;
    c.role = acct.role;
    this.o.log.info({ audit: 'console-login', user: acct.username }, 'console login');
    this.reply(c, { type: 'login', req, ok: true, user: acct.username, role: acct.role });
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
          const r =
            m.op === 'ack'
              ? this.o.engine.acknowledge(m.alarmId, c.user, note)
              : this.o.engine.resolve(m.alarmId, c.user, note);
          this.o.log.info(
            { audit: `alarm-${m.op}`, user: c.user, alarm: m.alarmId, ok: r.ok },
            `alarm ${m.op}`,
          );
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

function parseBasic(h: string | undefined): { username: string; password: string } | undefined {
  const m = /^Basic\s+(\S+)$/i.exec(h ?? '');
  if (!m) return undefined;
  const text = Buffer.from(m[1]!, 'base64').toString('utf8');
  const i = text.indexOf(':');
  return i < 0 ? undefined : { username: text.slice(0, i), password: text.slice(i + 1) };
}
