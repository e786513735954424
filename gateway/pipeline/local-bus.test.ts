/**
 * The local bus's depth gauge follows what waits and what is in flight, reported once per turn
 * of the event loop.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../core/logger.js';
import { createMetrics } from '../core/metrics.js';
import { LocalBus } from './local-bus.js';

describe('LocalBus', () => {
  it('a broker that calls back before its publish returns: every message goes out in order, no nested pumps', async () => {
    const out: string[] = [];
    let depth = 0;
    let deepest = 0;
    let held: (() => void)[] | undefined = []; // the broker holds its callbacks at first
    const bus = new LocalBus({
      publish: (topic, _payload, _o, done) => {
        depth++;
        deepest = Math.max(deepest, depth);
        out.push(topic);
        if (held) held.push(done);
        else done();
        depth--;
      },
      log: createLogger('silent'),
    });
    const n = 50_000; // queued behind the window: far more than the stack holds of nested pumps
    for (let i = 0; i < n; i++) bus.send(`t/${i}`, 'x', { qos: 0, retain: false, urgent: true });
    const waiting = held;
    held = undefined; // from now on it calls back at once
    for (const done of waiting) done();
    await bus.idle();
    expect(deepest).toBe(1);
    expect(out).toEqual(Array.from({ length: n }, (_, i) => `t/${i}`));
  });

  it('reports its depth (waiting and in flight) on the gauge, once the turn ends', async () => {
    const metrics = createMetrics();
    const taken: (() => void)[] = [];
    const bus = new LocalBus({
      publish: (_topic, _payload, _o, done) => taken.push(done),
      log: createLogger('silent'),
      metrics,
      maxInFlight: 2,
    });
    // Read after the turn in which the bus changed has ended (the broker's callbacks run first).
    const depth = async () => {
      await nextTurn();
      await nextTurn();
      return (await metrics.queueDepth.get()).values.find((v) => v.labels.stage === 'local-bus')?.value;
    };
    for (const n of [1, 2, 3, 4, 5]) bus.send(`t/${n}`, 'x', { qos: 0, retain: false, urgent: false });
    expect(await depth()).toBe(5); // 2 in flight, 3 waiting
    expect(taken).toHaveLength(2);
    taken.shift()!();
    taken.shift()!();
    expect(await depth()).toBe(3);
    while (taken.length) {
      taken.shift()!();
      await nextTurn();
    }
    await bus.idle();
    expect(await depth()).toBe(0);
  });
});
