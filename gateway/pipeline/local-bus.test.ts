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
