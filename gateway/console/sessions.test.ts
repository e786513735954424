import { describe, expect, it } from 'vitest';
import { ConsoleSessions, cookieValue } from './sessions.js';

describe('console sessions', () => {
  it('end after the idle timeout, after the absolute lifetime however busy, and on logout', () => {
    let now = 0;
    const s = new ConsoleSessions({ idleMs: 1000, lifetimeMs: 3500, now: () => now });
    const a = s.create('duty1', 'reader', '10.0.0.5');
    now = 900;
    expect(s.touch(a.id)?.user).toBe('duty1');
    now = 1800; // 900 ms idle: still fine
    expect(s.touch(a.id)).toBeDefined();
    now = 2900;
    expect(s.touch(a.id)).toBeUndefined(); // 1100 ms idle

    const b = s.create('duty1', 'reader', '10.0.0.5');
    for (now = 3000; now <= 6400; now += 500) expect(s.touch(b.id)).toBeDefined();
    now = 6600; // busy, but 3600 ms after the login
    expect(s.touch(b.id)).toBeUndefined();

    const c = s.create('boss', 'admin', '10.0.0.6');
    s.end(c.id);
    expect(s.touch(c.id)).toBeUndefined();
    expect(s.touch('made-up')).toBeUndefined();
  });

  it('keeps at most `max` sessions, dropping the least recently used', () => {
    const s = new ConsoleSessions({ idleMs: 1e9, lifetimeMs: 1e9, max: 2 });
    const a = s.create('a', 'reader', 'x');
    const b = s.create('b', 'reader', 'x');
    s.touch(a.id);
    s.create('c', 'reader', 'x');
    expect(s.touch(b.id)).toBeUndefined();
    expect(s.touch(a.id)).toBeDefined();
  });

  it('reads its cookie among others', () => {
    expect(cookieValue('a=1; cg_console=abc; b=2', 'cg_console')).toBe('abc');
    expect(cookieValue(undefined, 'cg_console')).toBeUndefined();
  });
});
