import { describe, expect, it } from 'vitest';
import { ManualClock } from '../core/clock.js';
import { type DeviceBase, LinkDown } from './driver-api.js';
import { PollScheduler } from './poll-scheduler.js';

const flush = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};
const dev = (id: string): DeviceBase => ({ id, tags: [] });

/** A scheduler over devices a, b, c on a manual clock: 100 ms cycles, offline after 3, backoff 1 s doubling, no jitter. */
function setup(o: { busy?: () => boolean } = {}) {
  const clock = new ManualClock(0);
  const polls: string[] = [];
  const failing = new Map<string, Error>();
  const log: string[] = [];
  const s = new PollScheduler({
    devices: [dev('a'), dev('b'), dev('c')],
    settings: { pollIntervalMs: 100, offlineAfterFailures: 3, backoff: { initialMs: 1000, maxMs: 4000 } },
    async poll(d) {
      polls.push(d.id);
      const err = failing.get(d.id);
      if (err) throw err;
    },
    succeeded: (d) => log.push(`ok ${d.id}`),
    failed: (d, reason) => log.push(`failed ${d.id}: ${reason}`),
    offline: (d, reason) => log.push(`offline ${d.id}: ${reason}`),
    busy: o.busy ?? (() => false),
    clock,
    random: () => 0.5,
  });
  /** Moves to `t` ms, letting each cycle finish. */
  const to = async (t: number) => {
    while (clock.now() < t) {
      clock.advance(Math.min(100, t - clock.now()));
      await flush();
    }
  };
  const count = (id: string) => polls.filter((p) => p === id).length;
  return { clock, s, polls, failing, log, to, count };
}

describe('poll scheduler', () => {
  it('polls every device once per interval, one after the other, first one interval after start', async () => {
    const t = setup();
    t.s.start();
    await t.to(99);
    expect(t.polls).toEqual([]);
    await t.to(300);
    expect(t.polls).toEqual(['a', 'b', 'c', 'a', 'b', 'c', 'a', 'b', 'c']);
    expect(t.log.filter((l) => l === 'ok b')).toHaveLength(3);
    t.s.stop();
    await t.to(1000);
    expect(t.polls).toHaveLength(9);
  });

  it('reports a device offline after 3 failures in a row, then tries it once per growing backoff period', async () => {
    const t = setup();
    t.failing.set('b', new Error('timed out'));
    t.s.start();
    await t.to(300);
    expect(t.log.filter((l) => l.startsWith('offline'))).toEqual(['offline b: timed out']);
    expect(t.log.filter((l) => l.startsWith('failed'))).toHaveLength(3);
    await t.to(1299); // backoff 1000 ms from the third failure at 300
    expect(t.count('b')).toBe(3);
    expect(t.count('a')).toBe(12);
    await t.to(1300);
    expect(t.count('b')).toBe(4);
    await t.to(3299); // then 2000 ms
    expect(t.count('b')).toBe(4);
    await t.to(3300);
    expect(t.count('b')).toBe(5);
    // one good poll brings it back, and it is polled every cycle again
    t.failing.delete('b');
    await t.to(7300);
    expect(t.log.at(-1)).toBe('ok c');
    expect(t.log).toContain('ok b');
    const before = t.count('b');
    await t.to(7600);
    expect(t.count('b')).toBe(before + 3);
    t.s.stop();
  });

  it('LinkDown counts and takes the device offline, but gives it no backoff', async () => {
    const t = setup();
    t.failing.set('a', new LinkDown('bus not connected'));
    t.s.start();
    await t.to(1000);
    expect(t.count('a')).toBe(10);
    expect(t.log.filter((l) => l.startsWith('offline a'))).toHaveLength(8); // every failure from the third (the host dedups)
    expect(t.log).toContain('offline a: bus not connected');
    t.s.stop();
  });

  it('pollNow runs a cycle at once, and nothing once stopped', async () => {
    const t = setup();
    t.s.start();
    t.s.pollNow();
    t.clock.advance(0);
    await flush();
    expect(t.polls).toEqual(['a', 'b', 'c']);
    t.s.stop();
    t.s.pollNow(); // stopped: nothing
    t.clock.advance(0);
    await flush();
    expect(t.polls).toHaveLength(3);
  });

  it('polls half as often while the gateway is busy', async () => {
    let busy = true;
    const t = setup({ busy: () => busy });
    t.s.start();
    await t.to(100);
    expect(t.count('a')).toBe(1);
    await t.to(299);
    expect(t.count('a')).toBe(1);
    await t.to(300);
    expect(t.count('a')).toBe(2);
    busy = false; // the cycle at 500 was scheduled while busy; from then on every 100 ms
    await t.to(700);
    expect(t.count('a')).toBe(5);
    t.s.stop();
  });
});
