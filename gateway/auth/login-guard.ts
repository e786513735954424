import { createHmac, randomBytes } from 'node:crypto';
import { type ParsedHash, decoyHash, parsePasswordHash, verifyPasswordAsync } from './password.js';
import type { Logger } from '../core/logger.js';

/**
 * Password logins of every service (local broker, console feed, ops HTTP), guarded against guessing
 * and against starving the libuv thread pool with scrypt:
 *
 * - Failed logins are counted per source address and per user name in a fixed window; at the limit
 *   the source (or name) is locked out for `lockoutMs`. A locked-out attempt is answered
 *   `throttled` at once, without running scrypt. One log line and one `onThrottled` call per lockout.
 * - A (source, user) pair that logged in successfully is trusted: a lockout of the user name caused by
 *   someone else (another address guessing that name) does not lock the real device or person out.
 *   Its first failure ends the trust.
 * - scrypt runs on at most `maxConcurrentVerifications` threads (the pool has 4 by default), at most
 *   `maxInFlightPerSource` per source, and waiting verifications are served round-robin across
 *   sources: a legitimate login waits for at most one verification per other active source, never
 *   behind an attacker's whole queue. A source with too many waiting attempts is answered `throttled`.
 * - A successful verification is cached under an HMAC (random per-process key) of user name,
 *   password and stored hash: a changed password or hash, or another password, never hits the cache.
 *   A cache hit costs one HMAC, no scrypt and no queue.
 *
 * Unknown user names (hash `undefined`) are checked against a decoy hash of the same cost, so the
 * answer takes as long and is the same (`bad-credentials`) whether or not the name exists.
 * No timers: every window and lockout is evaluated lazily with `now()`; memory is bounded by
 * `maxTrackedKeys` and `cacheMaxEntries`.
 */
export interface LoginGuardOptions {
  /** Failed logins from one source address within `windowMs` before it is locked out (default 10). */
  maxFailuresPerSource?: number;
  /** Failed logins for one user name (from any source) within `windowMs` before it is locked out (default 20). */
  maxFailuresPerUser?: number;
  /** Window in which failures are counted (default 10 minutes). */
  windowMs?: number;
  /** How long a source or user name stays locked out (default 5 minutes). */
  lockoutMs?: number;
  /** How long a successful verification is cached (default 15 minutes). */
  cacheTtlMs?: number;
  now?: () => number;
  log?: Logger;
  /** Called once per lockout (not per refused attempt), e.g. to count it. */
  onThrottled?: (who: { source: string; username: string }) => void;
  /** scrypt verifications running at once, all sources together (default 2 of the pool's 4 threads). */
  maxConcurrentVerifications?: number;
  /** scrypt verifications running at once for one source (default 1). */
  maxInFlightPerSource?: number;
  /** Attempts of one source waiting for a verification slot; more are answered `throttled` (default 8). */
  maxQueuedPerSource?: number;
  /** Attempts waiting for a verification slot, all sources together (default 256). */
  maxQueued?: number;
  /** Cached successful verifications (default 10,000; the oldest is dropped first). */
  cacheMaxEntries?: number;
  /** How long a (source, user) pair stays trusted after a successful login (default 24 hours). */
  trustMs?: number;
  /** Source addresses and user names whose failures are tracked (each; default 10,000; oldest dropped first). */
  maxTrackedKeys?: number;
}

export type LoginOutcome =
  | { ok: true }
  | { ok: false; reason: 'bad-credentials' | 'throttled'; retryAfterMs?: number };

export interface LoginGuardStats {
  /** scrypt verifications started since creation. */
  verifications: number;
  /** scrypt verifications running now. */
  running: number;
  /** Attempts waiting for a verification slot now. */
  queued: number;
  /** Logins answered from the cache (no scrypt). */
  cacheHits: number;
  /** Attempts answered `throttled` (no scrypt). */
  throttled: number;
  /** Lockouts started (source or user name). */
  lockouts: number;
}

const DEFAULTS = {
  maxFailuresPerSource: 10,
  maxFailuresPerUser: 20,
  windowMs: 10 * 60_000,
  lockoutMs: 5 * 60_000,
  cacheTtlMs: 15 * 60_000,
  maxConcurrentVerifications: 2,
  maxInFlightPerSource: 1,
  maxQueuedPerSource: 8,
  maxQueued: 256,
  cacheMaxEntries: 10_000,
  trustMs: 24 * 60 * 60_000,
  maxTrackedKeys: 10_000,
} as const;

/** Suggested wait when an attempt is refused because too many verifications are waiting. */
const BUSY_RETRY_MS = 1_000;

interface FailureWindow {
  count: number;
  windowStart: number;
  lockedUntil: number;
}

type Limits = { -readonly [K in keyof typeof DEFAULTS]: number };

export class LoginGuard {
  private readonly o: Limits;
  private readonly now: () => number;
  private readonly log?: Logger;
  private readonly onThrottled?: LoginGuardOptions['onThrottled'];
  private readonly key = randomBytes(32);
  private readonly decoy = decoyHash();
  private readonly bySource = new Map<string, FailureWindow>();
  private readonly byUser = new Map<string, FailureWindow>();
  private readonly trusted = new Map<string, number>();
  private readonly cache = new Map<string, number>();
  private readonly slots: FairSlots;
  private readonly counters = { verifications: 0, cacheHits: 0, throttled: 0, lockouts: 0 };

  constructor(o: LoginGuardOptions = {}) {
    const limits = { ...DEFAULTS } as Limits;
    for (const k of Object.keys(DEFAULTS) as (keyof Limits)[]) {
      const v = o[k];
      if (v !== undefined) {
        if (!Number.isFinite(v) || v < (k === 'maxQueuedPerSource' ? 0 : 1)) {
          throw new RangeError(`LoginGuard: ${k} must be a positive number`);
        }
        limits[k] = v;
      }
    }
    this.o = limits;
    this.now = o.now ?? Date.now;
    this.log = o.log;
    this.onThrottled = o.onThrottled;
    this.slots = new FairSlots(
      limits.maxConcurrentVerifications,
      limits.maxInFlightPerSource,
      limits.maxQueuedPerSource,
      limits.maxQueued,
    );
  }

  /**
   * Checks one login attempt. `hash` undefined means the user name is unknown. Never throws for a
   * wrong password; rejects only if scrypt itself fails (e.g. out of memory).
   */
  async login(
    source: string,
    username: string,
    password: Buffer | string,
    hash: ParsedHash | string | undefined,
  ): Promise<LoginOutcome> {
    const secret = typeof password === 'string' ? Buffer.from(password, 'utf8') : password;
    const stored = this.parse(username, hash);

    const locked = this.lockedFor(source, username, this.now());
    if (locked > 0) return this.throttle(locked);

    const cacheKey = stored && this.cacheKey(username, secret, stored);
    if (cacheKey !== undefined && this.cacheHit(cacheKey)) {
      this.counters.cacheHits++;
      this.trust(source, username);
      return { ok: true };
    }

    const verdict = await this.slots.run(source, async () => {
      // Attempts admitted before a lockout started must not run scrypt after it.
      const lockedNow = this.lockedFor(source, username, this.now());
      if (lockedNow > 0) return lockedNow;
      this.counters.verifications++;
      return verifyPasswordAsync(secret, stored ?? this.decoy);
    });
    if (verdict === BUSY) return this.throttle(BUSY_RETRY_MS);
    if (typeof verdict === 'number') return this.throttle(verdict);

    if (verdict && stored && cacheKey !== undefined) {
      this.remember(cacheKey);
      this.trust(source, username);
      return { ok: true };
    }
    this.fail(source, username);
    return { ok: false, reason: 'bad-credentials' };
  }

  /** Attempts of this source running or waiting for a verification (0 for a cache hit or a throttled one). */
  pending(source: string): number {
    return this.slots.pending(source);
  }

  stats(): LoginGuardStats {
    return { ...this.counters, running: this.slots.running, queued: this.slots.queued };
  }

  private parse(username: string, hash: ParsedHash | string | undefined): ParsedHash | undefined {
    if (typeof hash !== 'string') return hash;
    try {
      return parsePasswordHash(hash);
    } catch {
      // A malformed stored hash is a configuration error: nobody can log in with it.
      this.log?.error({ username }, 'stored password hash is malformed; login refused');
      return undefined;
    }
  }

  private throttle(retryAfterMs: number): LoginOutcome {
    this.counters.throttled++;
    return { ok: false, reason: 'throttled', retryAfterMs: Math.max(1, Math.ceil(retryAfterMs)) };
  }

  /** Milliseconds until this attempt may be verified (0: now). A trusted pair ignores both lockouts. */
  private lockedFor(source: string, username: string, now: number): number {
    const pair = pairKey(source, username);
    const trustedUntil = this.trusted.get(pair);
    if (trustedUntil !== undefined) {
      if (trustedUntil > now) return 0;
      this.trusted.delete(pair);
    }
    const remaining = (w: FailureWindow | undefined) => (w && w.lockedUntil > now ? w.lockedUntil - now : 0);
    return Math.max(remaining(this.bySource.get(source)), remaining(this.byUser.get(username)));
  }

  private fail(source: string, username: string): void {
    const now = this.now();
    this.trusted.delete(pairKey(source, username));
    const who = { source, username };
    this.countFailure(this.bySource, source, this.o.maxFailuresPerSource, now, who, 'source');
    this.countFailure(this.byUser, username, this.o.maxFailuresPerUser, now, who, 'user');
  }

  private countFailure(
    map: Map<string, FailureWindow>,
    key: string,
    max: number,
    now: number,
    who: { source: string; username: string },
    by: 'source' | 'user',
  ): void {
    let w = map.get(key);
    const lockOver = w !== undefined && w.lockedUntil !== 0 && w.lockedUntil <= now;
    if (!w || lockOver || (w.lockedUntil === 0 && now - w.windowStart >= this.o.windowMs)) {
      w = { count: 0, windowStart: now, lockedUntil: 0 };
    }
    map.delete(key);
    map.set(key, w);
    evictOldest(map, this.o.maxTrackedKeys);
    w.count++;
    if (w.count >= max && w.lockedUntil <= now) {
      w.lockedUntil = now + this.o.lockoutMs;
      this.counters.lockouts++;
      this.log?.warn(
        { ...who, by, failures: w.count, lockoutMs: this.o.lockoutMs },
        `login throttled: too many failed logins for this ${by === 'source' ? 'source address' : 'user name'}`,
      );
      this.onThrottled?.(who);
    }
  }

  private trust(source: string, username: string): void {
    const pair = pairKey(source, username);
    this.trusted.delete(pair);
    this.trusted.set(pair, this.now() + this.o.trustMs);
    evictOldest(this.trusted, this.o.cacheMaxEntries);
  }

  private cacheKey(username: string, password: Buffer, h: ParsedHash): string {
    const mac = createHmac('sha256', this.key);
    for (const part of [Buffer.from(username, 'utf8'), password, h.salt, h.hash]) {
      const len = Buffer.alloc(4);
      len.writeUInt32BE(part.length);
      mac.update(len).update(part);
    }
    mac.update(`${h.N}$${h.r}$${h.p}`);
    return mac.digest('base64');
  }

  private cacheHit(key: string): boolean {
    const expires = this.cache.get(key);
    if (expires === undefined) return false;
    if (expires > this.now()) return true;
    this.cache.delete(key);
    return false;
  }

  private remember(key: string): void {
    this.cache.delete(key);
    this.cache.set(key, this.now() + this.o.cacheTtlMs);
    evictOldest(this.cache, this.o.cacheMaxEntries);
  }
}

function pairKey(source: string, username: string): string {
  return `${source}\u0000${username}`;
}

/** Maps keep insertion order: re-inserting on use makes the first entry the least recently used. */
function evictOldest<K, V>(map: Map<K, V>, max: number): void {
  while (map.size > max) {
    const oldest = map.keys().next();
    if (oldest.done) return;
    map.delete(oldest.value);
  }
}

const BUSY = Symbol('busy');

interface SourceSlots {
  running: number;
  queue: (() => void)[];
}

/**
 * Verification slots shared by every source: at most `maxRunning` tasks at once, at most `perSource`
 * per source, waiting tasks taken round-robin by source, bounded waiting (per source and in total).
 */
class FairSlots {
  running = 0;
  queued = 0;
  private readonly sources = new Map<string, SourceSlots>();
  /** Sources with waiting tasks, in the order they are served (a served source goes to the back). */
  private readonly ready = new Set<string>();

  constructor(
    private readonly maxRunning: number,
    private readonly perSource: number,
    private readonly maxQueuedPerSource: number,
    private readonly maxQueued: number,
  ) {}

  pending(source: string): number {
    const s = this.sources.get(source);
    return s ? s.running + s.queue.length : 0;
  }

  run<T>(source: string, task: () => Promise<T>): Promise<T | typeof BUSY> {
    let s = this.sources.get(source);
    if (!s) {
      s = { running: 0, queue: [] };
      this.sources.set(source, s);
    }
    const canStart = this.running < this.maxRunning && s.running < this.perSource && s.queue.length === 0;
    if (!canStart && (s.queue.length >= this.maxQueuedPerSource || this.queued >= this.maxQueued)) {
      this.release(source, s);
      return Promise.resolve(BUSY);
    }
    const slot = s;
    return new Promise<T | typeof BUSY>((resolve, reject) => {
      const start = () => {
        this.running++;
        slot.running++;
        Promise.resolve()
          .then(task)
          .then(resolve, reject)
          .finally(() => {
            this.running--;
            slot.running--;
            // The source just served goes behind every other waiting source.
            if (this.ready.delete(source)) this.ready.add(source);
            this.release(source, slot);
            this.pump();
          });
      };
      if (canStart) {
        start();
      } else {
        slot.queue.push(start);
        this.queued++;
        this.ready.add(source);
      }
    });
  }

  private pump(): void {
    while (this.running < this.maxRunning && this.ready.size > 0) {
      let picked: string | undefined;
      for (const source of this.ready) {
        if ((this.sources.get(source)?.running ?? 0) < this.perSource) {
          picked = source;
          break;
        }
      }
      if (picked === undefined) return;
      const s = this.sources.get(picked)!;
      const start = s.queue.shift()!;
      this.queued--;
      this.ready.delete(picked);
      if (s.queue.length > 0) this.ready.add(picked);
      start();
    }
  }

  private release(source: string, s: SourceSlots): void {
    if (s.running === 0 && s.queue.length === 0) this.sources.delete(source);
  }
}
