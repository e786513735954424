import { describe, expect, it } from 'vitest';
import { ManualClock } from '../core/clock.js';
import { createLogger } from '../core/logger.js';
import { DriverSupervisor, type Runnable } from './supervisor.js';

const log = createLogger('silent');
/** No jitter: the delays are exactly 100, 200, 400, ... ms. */
const BACKOFF = { initialMs: 100, maxMs: 1000, random: () => 0.5 };
const flush = () => new Promise((r) => setImmediate(r));

/** Launches whose behaviour each test scripts: how many starts fail, and a handle to report a fatal fault. */
function scripted(failStarts: number) {
  const calls = { create: 0, start: 0, stop: 0 };
  let fatal: ((err: Error) => void) | undefined;
  const create = (): Runnable & { n: number } => {
    calls.create += 1;
    return {
      n: calls.create,
      async start() {
        calls.start += 1;
        if (calls.start <= failStarts) throw new Error(`start ${calls.start} failed`);
      },
      async stop() {
        calls.stop += 1;
      },
      onFatal(listener) {
        fatal = listener;
      },
    };
  };
  return { create, calls, fatal: (err: Error) => fatal?.(err) };
}

describe('driver supervisor', () => {
  it('restarts a launch whose start fails, after growing backoff delays, until it runs', async () => {
    const clock = new ManualClock(0);
    const d = scripted(2);
    let restarts = 0;
    const sup = new DriverSupervisor({
      id: 'x',
      family: 'f',
      create: d.create,
      log,
      clock,
      backoff: BACKOFF,
      onRestart: () => restarts++,
    });
    sup.start();
    await flush();
    expect(sup.state).toBe('backoff');
    expect(sup.lastError).toBe('start 1 failed');
    clock.advance(99);
    expect(d.calls.start).toBe(1); // not before its delay
    clock.advance(1);
    await flush();
    expect(d.calls.start).toBe(2);
    clock.advance(199); // the second delay is twice the first
    expect(d.calls.start).toBe(2);
    clock.advance(1);
    await flush();
    expect(sup.state).toBe('running');
    expect(sup.running?.n).toBe(3);
    expect(restarts).toBe(2);
    expect(d.calls.stop).toBe(2); // each failed launch was stopped before the next one
    await sup.stop();
    expect(sup.state).toBe('stopped');
    expect(sup.running).toBeUndefined();
  });

  it('restarts a running launch that reports a fatal fault; none is running meanwhile', async () => {
    const clock = new ManualClock(0);
    const d = scripted(0);
    const sup = new DriverSupervisor({ id: 'x', family: 'f', create: d.create, log, clock, backoff: BACKOFF });
    sup.start();
    await flush();
    expect(sup.state).toBe('running');
    d.fatal(new Error('bus gone'));
    expect(sup.state).toBe('backoff');
    expect(sup.lastError).toBe('bus gone');
    expect(sup.running).toBeUndefined();
    clock.advance(100);
    await flush();
    expect(sup.state).toBe('running');
    expect(sup.lastError).toBeUndefined();
    expect(d.calls.create).toBe(2);
    // a good run resets the backoff: the next fault waits the first delay again
    d.fatal(new Error('bus gone again'));
    clock.advance(100);
    await flush();
    expect(d.calls.create).toBe(3);
    await sup.stop();
  });

  it('a stopped supervisor does not restart', async () => {
    const clock = new ManualClock(0);
    const d = scripted(100);
    const sup = new DriverSupervisor({ id: 'x', family: 'f', create: d.create, log, clock, backoff: BACKOFF });
    sup.start();
    await flush();
    expect(d.calls.start).toBe(1);
    await sup.stop();
    clock.advance(10_000);
    await flush();
    expect(d.calls.start).toBe(1);
    expect(clock.pendingTimers).toBe(0);
  });
});
