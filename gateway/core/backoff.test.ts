import { describe, expect, it } from 'vitest';
import { Backoff, jittered } from './backoff.js';

describe('Backoff', () => {
  it('doubles from initialMs up to maxMs and starts over after reset', () => {
    const b = new Backoff({ initialMs: 100, maxMs: 1000, jitter: 0 });
    expect([b.next(), b.next(), b.next(), b.next(), b.next(), b.next()]).toEqual([
      100, 200, 400, 800, 1000, 1000,
    ]);
    expect(b.attempts).toBe(6);
    b.reset();
    expect(b.next()).toBe(100);
  });

  it('spreads each delay by ±jitter and never exceeds maxMs', () => {
    const low = new Backoff({ initialMs: 1000, maxMs: 5000, jitter: 0.2, random: () => 0 });
    const high = new Backoff({ initialMs: 1000, maxMs: 5000, jitter: 0.2, random: () => 0.999999 });
    expect(low.next()).toBe(800);
    expect(high.next()).toBe(1200);
    for (let i = 0; i < 10; i++) high.next();
    expect(high.next()).toBe(5000);
  });

  it('equal jitter: half the delay fixed and half random, doubling up to maxMs', () => {
    const low = new Backoff({ initialMs: 1000, maxMs: 60_000, kind: 'equal', random: () => 0 });
    const high = new Backoff({ initialMs: 1000, maxMs: 60_000, kind: 'equal', random: () => 1 });
    expect([low.next(), low.next(), low.next()]).toEqual([500, 1000, 2000]);
    expect([high.next(), high.next(), high.next()]).toEqual([1000, 2000, 4000]);
    for (let i = 0; i < 30; i++) {
      low.next();
      high.next();
    }
    expect([low.next(), high.next()]).toEqual([30_000, 60_000]);
    low.reset();
    expect(low.next()).toBe(500);
  });

  it('jittered spreads one fixed delay by ±jitter', () => {
    expect(jittered(300, 0.2, () => 0)).toBe(240);
    expect(jittered(300, 0.2, () => 0.5)).toBe(300);
    expect(jittered(300, 0.2, () => 0.999999)).toBe(360);
    expect(jittered(300, 0, () => 0.7)).toBe(300);
  });

  it('rejects nonsense bounds', () => {
    expect(() => new Backoff({ initialMs: 0, maxMs: 10 })).toThrow(RangeError);
    expect(() => new Backoff({ initialMs: 100, maxMs: 10 })).toThrow(RangeError);
  });
});
