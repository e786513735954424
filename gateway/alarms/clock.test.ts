/**
 * The wall clock jumps (an NTP correction of ±1 h) while alarm timers run. Fake timers move the
 * wall clock (Date) without moving the monotonic one (performance.now, timers): exactly what a
 * step of the system clock does to a Node process. A `for` timer and an escalation measure their
 * durations in monotonic time; timestamps keep following the wall clock.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type Clock, type ManualClock, systemClock } from '../core/clock.js';
import { startHarness } from './testing/engine-harness.js';

const HOUR = 3_600_000;
const T0 = Date.parse('2026-11-23T09:30:00Z');

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date', 'performance', 'setTimeout', 'clearTimeout'], now: T0 });
});
afterEach(() => {
  vi.useRealTimers();
});

/** Steps the wall clock by `ms` (timers and performance.now() do not move). */
function jumpWallClock(ms: number): void {
  vi.setSystemTime(Date.now() + ms);
}

describe('system clock across wall-clock jumps', () => {
  for (const jump of [-HOUR, +HOUR]) {
    it(`a 30 s timer fires after 30 s of monotonic time when the wall clock steps ${jump > 0 ? 'forward' : 'back'} 1 h`, () => {
      let fired = 0;
      systemClock.after(30_000, () => {
        fired += 1;
      });
      vi.advanceTimersByTime(10_000);
      jumpWallClock(jump);
      vi.advanceTimersByTime(19_999);
      expect(fired).toBe(0); // not early
      vi.advanceTimersByTime(1);
      expect(fired).toBe(1); // and not an hour late
      vi.advanceTimersByTime(2 * HOUR);
      expect(fired).toBe(1);
      // timestamps follow the wall clock
      expect(systemClock.now()).toBe(T0 + 30_000 + jump + 2 * HOUR);
    });
  }

  it('a cancelled timer never fires, jump or not', () => {
    let fired = 0;
    const t = systemClock.after(30_000, () => {
      fired += 1;
    });
    jumpWallClock(HOUR);
    t.cancel();
    vi.advanceTimersByTime(2 * HOUR);
    expect(fired).toBe(0);
  });
});

const high = { lel: 25, lowThreshold: 20, highThreshold: 50, status: 'low' };

describe('alarm engine on the system clock across wall-clock jumps', () => {
  // The harness drives a ManualClock; here the engine runs on the real system clock under fake timers.
  const clock = systemClock as Clock as ManualClock;

  for (const jump of [-HOUR, +HOUR]) {
    it(`a 30 s \`for\` rule raises its alarm after 30 s when the wall clock steps ${jump > 0 ? 'forward' : 'back'} 1 h`, async () => {
      const h = startHarness({
        clock,
        rules: [
          {
            id: 'gas-low-30s',
            severity: 'major',
            match: { type: 'gas.alarm.low', devices: { family: 'gas-detector' } },
            for: '30s',
            clear: { type: 'gas.normal' },
          },
        ],
      });
      await h.emit({ deviceId: 'gas-b1-101', type: 'gas.alarm.low', kind: 'alarm', severity: 'major', data: high });
      expect(h.engine.pendingTimers()).toHaveLength(1);
      vi.advanceTimersByTime(10_000);
      jumpWallClock(jump);
      vi.advanceTimersByTime(19_999);
      await h.settle();
      expect(h.alarmEvents('alarm.raised')).toHaveLength(0);
      vi.advanceTimersByTime(1);
      await h.settle();
      const raised = h.alarmEvents('alarm.raised');
      expect(raised).toHaveLength(1);
      // the alarm is stamped with the (corrected) wall time
      expect(h.alarmOf(raised[0]!).raisedAt).toBe(new Date(T0 + 30_000 + jump).toISOString());
      await h.close();
    });

    it(`escalation to the first tier after 5 min when the wall clock steps ${jump > 0 ? 'forward' : 'back'} 1 h`, async () => {
      const h = startHarness({
        clock,
        builtin: true,
        tiers: [
          { name: 'duty', afterMs: 0 },
          { name: 'supervisor', afterMs: 5 * 60_000 },
        ],
      });
      await h.emit({ deviceId: 'gas-b1-101', type: 'gas.alarm.low', kind: 'alarm', severity: 'major', data: high });
      vi.advanceTimersByTime(60_000);
      jumpWallClock(jump);
      vi.advanceTimersByTime(4 * 60_000 - 1);
      await h.settle();
      expect(h.alarmEvents('alarm.escalated')).toHaveLength(0);
      vi.advanceTimersByTime(1);
      await h.settle();
      expect(h.alarmEvents('alarm.escalated')).toHaveLength(1);
      await h.close();
    });
  }

  // The tier after the first is due `following.afterMs - tier.afterMs` after the escalation (a
  // duration), not at `raisedAt + afterMs` (a wall-time difference a step would move).
  for (const jump of [-HOUR, +HOUR]) {
    it(`escalation to the second tier after 15 min when the wall clock steps ${jump > 0 ? 'forward' : 'back'} 1 h between tiers`, async () => {
      const h = startHarness({
        clock,
        builtin: true,
        tiers: [
          { name: 'duty', afterMs: 0 },
          { name: 'supervisor', afterMs: 5 * 60_000 },
          { name: 'manager', afterMs: 15 * 60_000 },
        ],
      });
      await h.emit({ deviceId: 'gas-b1-101', type: 'gas.alarm.low', kind: 'alarm', severity: 'major', data: high });
      vi.advanceTimersByTime(60_000);
      jumpWallClock(jump);
      vi.advanceTimersByTime(4 * 60_000);
      await h.settle();
      expect(h.alarmEvents('alarm.escalated')).toHaveLength(1);
      vi.advanceTimersByTime(10 * 60_000 - 1);
      await h.settle();
      expect(h.alarmEvents('alarm.escalated')).toHaveLength(1);
      vi.advanceTimersByTime(1);
      await h.settle();
      expect(h.alarmEvents('alarm.escalated')).toHaveLength(2);
      await h.close();
    });
  }

  // A count window (`count.within`, e.g. two detectors of one building within 60 s) is measured on
  // the monotonic clock: in wall time a forward step would expire the first detector's entry at once.
  it('two detectors of one building 20 s apart still combine when the wall clock steps forward 1 h between them', async () => {
    const h = startHarness({
      clock,
      rules: [
        {
          id: 'two-in-building',
          severity: 'critical',
          subject: 'building',
          match: { type: 'gas.alarm.low', devices: { family: 'gas-detector' } },
          count: { n: 2, within: '60s', distinctDevices: true },
        },
      ],
    });
    await h.emit({ deviceId: 'gas-b1-101', type: 'gas.alarm.low', kind: 'alarm', severity: 'major', data: high });
    vi.advanceTimersByTime(10_000);
    jumpWallClock(HOUR);
    vi.advanceTimersByTime(10_000);
    await h.emit({ deviceId: 'gas-b1-102', type: 'gas.alarm.low', kind: 'alarm', severity: 'major', data: high });
    expect(h.alarmEvents('alarm.raised')).toHaveLength(1);
    await h.close();
  });

  it('two detectors 70 s apart do not combine in a 60 s window when the wall clock steps back 1 h between them', async () => {
    const h = startHarness({
      clock,
      rules: [
        {
          id: 'two-in-building',
          severity: 'critical',
          subject: 'building',
          match: { type: 'gas.alarm.low', devices: { family: 'gas-detector' } },
          count: { n: 2, within: '60s', distinctDevices: true },
        },
      ],
    });
    await h.emit({ deviceId: 'gas-b1-101', type: 'gas.alarm.low', kind: 'alarm', severity: 'major', data: high });
    vi.advanceTimersByTime(10_000);
    jumpWallClock(-HOUR);
    vi.advanceTimersByTime(60_000);
    await h.emit({ deviceId: 'gas-b1-102', type: 'gas.alarm.low', kind: 'alarm', severity: 'major', data: high });
    expect(h.alarmEvents('alarm.raised')).toHaveLength(0);
    await h.close();
  });
});
