/**
 * Console sessions: a login on `/console/api/login` gets a random session id in an HttpOnly,
 * SameSite=Strict cookie scoped to `/console`. Sessions live in memory (a gateway restart logs
 * everyone out) and end after `idleMs` without a request or `lifetimeMs` after the login,
 * whichever comes first, or on logout.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';

export const SESSION_COOKIE = 'cg_console';
export const COOKIE_PATH = '/console';

export interface Session {
  id: string;
  user: string;
  role: string;
  /** Remote address of the login. */
  source: string;
  createdAt: number;
  lastSeenAt: number;
}

export interface SessionOptions {
  idleMs: number;
  lifetimeMs: number;
  /** Sessions kept at once; the least recently used is dropped first (default 1000). */
  max?: number;
  now?: () => number;
}

export class ConsoleSessions {
  private readonly byId = new Map<string, Session>();
  private readonly now: () => number;

  constructor(private readonly o: SessionOptions) {
    this.now = o.now ?? Date.now;
  }

  create(user: string, role: string, source: string): Session {
    const at = this.now();
    const s: Session = { id: randomBytes(32).toString('base64url'), user, role, source, createdAt: at, lastSeenAt: at };
    this.byId.set(s.id, s);
    const max = this.o.max ?? 1000;
    for (const id of this.byId.keys()) {
      if (this.byId.size <= max) break;
      this.byId.delete(id);
    }
    return s;
  }

  /** The live session of this id (and marks it used), or undefined when unknown or expired. */
  touch(id: string | undefined): Session | undefined {
    if (!id) return undefined;
    const s = this.byId.get(id);
    if (!s) return undefined;
    const at = this.now();
    if (at - s.lastSeenAt > this.o.idleMs || at - s.createdAt > this.o.lifetimeMs) {
      this.byId.delete(id);
      return undefined;
    }
    s.lastSeenAt = at;
    // Most recently used last, so the size bound drops the stalest.
    this.byId.delete(id);
    this.byId.set(id, s);
    return s;
  }

  /** The live session of a request's cookie. */
  of(req: IncomingMessage): Session | undefined {
    return this.touch(cookieValue(req.headers.cookie, SESSION_COOKIE));
  }

  end(id: string): void {
    this.byId.delete(id);
  }

  get size(): number {
    return this.byId.size;
  }
}

export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

/** Whether the request reached the gateway over TLS (the cookie then carries `Secure`). */
export const overTls = (req: IncomingMessage): boolean => (req.socket as Partial<TLSSocket>).encrypted === true;

export function sessionCookie(id: string, secure: boolean): string {
  return `${SESSION_COOKIE}=${id}; HttpOnly; SameSite=Strict; Path=${COOKIE_PATH}${secure ? '; Secure' : ''}`;
}

export function clearedCookie(secure: boolean): string {
  return `${SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=${COOKIE_PATH}; Max-Age=0${secure ? '; Secure' : ''}`;
}
