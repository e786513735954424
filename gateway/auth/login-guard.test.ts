import { randomBytes, scryptSync } from 'node:crypto';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { ParsedHash } from './password.js';
import { hashPassword } from './password.js';
import { createLogger } from '../core/logger.js';
import { LoginGuard, type LoginGuardOptions, type LoginOutcome } from './login-guard.js';

// A cheap scrypt cost keeps these tests fast; the guard does not care about the cost.
function cheapHash(password: string): ParsedHash {
  const salt = randomBytes(16);
  return { N: 1024, r: 8, p: 1, salt, hash: scryptSync(password, salt, 32, { N: 1024, r: 8, p: 1 }) };
}

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

function capture() {
  const lines: string[] = [];
  const log = createLogger(
    'debug',
    new Writable({
      write(chunk, _enc, cb) {
        lines.push(String(chunk));
        cb();
      },
    }),
  );
  return { lines, log };
}

const BAD: LoginOutcome = { ok: false, reason: 'bad-credentials' };

function guard(extra: LoginGuardOptions = {}) {
  const c = clock();
  const { lines, log } = capture();
  const throttled: { source: string; username: string }[] = [];
  const g = new LoginGuard({ now: c.now, log, onThrottled: (who) => throttled.push(who), ...extra });
  return { g, c, lines, throttled };
}

describe('LoginGuard', () => {
  const hash = cheapHash('right');

  it('accepts the right password, refuses a wrong one and an unknown user the same way', async () => {
    const { g } = guard();
    expect(await g.login('10.0.0.1', 'bin-7', 'right', hash)).toEqual({ ok: true });
    expect(await g.login('10.0.0.1', 'bin-7', Buffer.from('wrong'), hash)).toEqual(BAD);
    const before = g.stats().verifications;
    expect(await g.login('10.0.0.1', 'nobody', 'right', undefined)).toEqual(BAD);
    // the unknown name still cost one scrypt verification
    expect(g.stats().verifications).toBe(before + 1);
  });

  it('takes stored hashes as strings; a malformed one refuses the login and is logged', async () => {
    const { g, lines } = guard();
    const stored = hashPassword('right');
    expect(await g.login('10.0.0.1', 'bin-7', 'right', stored)).toEqual({ ok: true });
    expect(await g.login('10.0.0.1', 'bin-8', 'right', 'scrypt$broken')).toEqual(BAD);
    expect(lines.some((l) => l.includes('malformed') && l.includes('bin-8'))).toBe(true);
  });

  it('locks a source out after maxFailuresPerSource and answers it without scrypt until the lockout ends', async () => {
    const { g, c, lines, throttled } = guard({ maxFailuresPerSource: 3, lockoutMs: 60_000 });
    for (let i = 0; i < 3; i++) expect(await g.login('10.0.0.9', `user-${i}`, 'guess', hash)).toEqual(BAD);
    const verified = g.stats().verifications;
    for (let i = 0; i < 50; i++) {
      const out = await g.login('10.0.0.9', 'bin-7', 'right', hash);
      expect(out).toMatchObject({ ok: false, reason: 'throttled' });
      expect(out.ok === false && out.retryAfterMs).toBeGreaterThan(0);
    }
    expect(g.stats().verifications).toBe(verified);
    expect(g.stats().throttled).toBe(50);
    // one callback and one log line for the lockout, not one per attempt
    expect(throttled).toEqual([{ source: '10.0.0.9', username: 'user-2' }]);
    expect(lines.filter((l) => l.includes('login throttled'))).toHaveLength(1);
    // another source is not affected
    expect(await g.login('10.0.0.10', 'bin-7', 'right', hash)).toEqual({ ok: true });
    c.advance(60_000);
    expect(await g.login('10.0.0.9', 'bin-7', 'right', hash)).toEqual({ ok: true });
  });

  it('forgets failures older than the window', async () => {
    const { g, c } = guard({ maxFailuresPerSource: 3, windowMs: 1_000 });
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 2; i++) expect(await g.login('10.0.0.9', 'bin-7', 'guess', hash)).toEqual(BAD);
      c.advance(1_000);
    }
    expect(g.stats().lockouts).toBe(0);
  });

  it('locks a user name guessed from many sources, but not the device that already logged in from its address', async () => {
    const { g, throttled } = guard({ maxFailuresPerUser: 5, maxFailuresPerSource: 100 });
    expect(await g.login('10.0.0.7', 'bin-7', 'right', hash)).toEqual({ ok: true });
    for (let i = 0; i < 5; i++) expect(await g.login(`10.0.1.${i}`, 'bin-7', 'guess', hash)).toEqual(BAD);
    expect(throttled).toHaveLength(1);
    // attackers from anywhere else, even with the right password, are throttled
    expect(await g.login('10.0.2.1', 'bin-7', 'right', hash)).toMatchObject({ reason: 'throttled' });
    // the real device, from the address it logged in from before, is not
    expect(await g.login('10.0.0.7', 'bin-7', 'right', hash)).toEqual({ ok: true });
    // one failure from the trusted address ends its trust
    expect(await g.login('10.0.0.7', 'bin-7', 'guess', hash)).toEqual(BAD);
    expect(await g.login('10.0.0.7', 'bin-7', 'right', hash)).toMatchObject({ reason: 'throttled' });
  });

  it('caches a successful verification, never for another password or a changed hash', async () => {
    const { g, c } = guard({ cacheTtlMs: 10_000 });
    expect(await g.login('10.0.0.1', 'bin-7', 'right', hash)).toEqual({ ok: true });
    const v = g.stats().verifications;
    expect(await g.login('10.0.0.2', 'bin-7', 'right', hash)).toEqual({ ok: true });
    expect(g.stats()).toMatchObject({ verifications: v, cacheHits: 1 });
    // a different password is verified (and refused)
    expect(await g.login('10.0.0.1', 'bin-7', 'righ', hash)).toEqual(BAD);
    // the password was changed in the config: the old one no longer passes
    const changed = cheapHash('new-password');
    expect(await g.login('10.0.0.1', 'bin-7', 'right', changed)).toEqual(BAD);
    // the same password for another user name is not a hit
    expect(await g.login('10.0.0.1', 'bin-8', 'right', hash)).toEqual({ ok: true });
    expect(g.stats()).toMatchObject({ verifications: v + 3, cacheHits: 1 });
    // expires after cacheTtlMs
    c.advance(10_000);
    expect(await g.login('10.0.0.1', 'bin-7', 'right', hash)).toEqual({ ok: true });
    expect(g.stats()).toMatchObject({ verifications: v + 4, cacheHits: 1 });
  });

  it('bounds the cache', async () => {
    const { g } = guard({ cacheMaxEntries: 2 });
    for (const u of ['a', 'b', 'c']) expect(await g.login('10.0.0.1', u, 'right', hash)).toEqual({ ok: true });
    const v = g.stats().verifications;
    expect(await g.login('10.0.0.1', 'a', 'right', hash)).toEqual({ ok: true }); // evicted: verified again
    expect(await g.login('10.0.0.1', 'c', 'right', hash)).toEqual({ ok: true }); // still cached
    expect(g.stats()).toMatchObject({ verifications: v + 1 });
  });

  it("keeps a legitimate login ahead of an attacker's queue", async () => {
    // Everything through one scrypt thread so the order is deterministic.
    const { g } = guard({
      maxConcurrentVerifications: 1,
      maxQueuedPerSource: 4,
      maxFailuresPerSource: 1_000,
      maxFailuresPerUser: 1_000,
    });
    const order: string[] = [];
    const attack = Array.from({ length: 20 }, (_, i) =>
      g.login('10.6.6.6', 'bin-7', `guess-${i}`, hash).then((out) => {
        order.push(out.ok === false && out.reason === 'throttled' ? 'attack-busy' : 'attack-verified');
        return out;
      }),
    );
    // 1 running + 4 waiting; the other 15 were answered at once, without scrypt
    expect(g.pending('10.6.6.6')).toBe(5);
    const legit = g.login('10.0.0.8', 'bin-8', 'right', hash).then((out) => {
      order.push('legit');
      return out;
    });
    expect(await legit).toEqual({ ok: true });
    const outcomes = await Promise.all(attack);
    expect(outcomes.filter((o) => o.ok === false && o.reason === 'throttled')).toHaveLength(15);
    // the legitimate login waited for at most the one attacker verification already running
    const verifiedBeforeLegit = order.slice(0, order.indexOf('legit')).filter((x) => x === 'attack-verified');
    expect(verifiedBeforeLegit.length).toBeLessThanOrEqual(1);
    expect(g.stats()).toMatchObject({ running: 0, queued: 0, verifications: 6 });
    // a cached login does not queue at all
    const cached = g.login('10.0.0.8', 'bin-8', 'right', hash);
    expect(g.pending('10.0.0.8')).toBe(0);
    expect(await cached).toEqual({ ok: true });
  });

  it('does not run scrypt for queued attempts once their source is locked out', async () => {
    const { g } = guard({ maxConcurrentVerifications: 1, maxQueuedPerSource: 8, maxFailuresPerSource: 2 });
    const outcomes = await Promise.all(
      Array.from({ length: 9 }, (_, i) => g.login('10.6.6.6', 'bin-7', `guess-${i}`, hash)),
    );
    expect(outcomes.filter((o) => o.ok === false && o.reason === 'bad-credentials')).toHaveLength(2);
    expect(g.stats().verifications).toBe(2);
  });

  it('rejects nonsensical limits', () => {
    expect(() => new LoginGuard({ windowMs: 0 })).toThrow(RangeError);
    expect(() => new LoginGuard({ maxFailuresPerSource: Number.NaN })).toThrow(RangeError);
  });
});
