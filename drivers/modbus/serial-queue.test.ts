import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { SerialQueue } from './serial-queue.js';

describe('SerialQueue', () => {
  it('runs one job at a time, in order, and isolates failures', async () => {
    const q = new SerialQueue();
    let running = 0;
    let most = 0;
    const order: number[] = [];
    const job = (n: number) => async () => {
      running += 1;
      most = Math.max(most, running);
      await sleep(2);
      order.push(n);
      running -= 1;
      if (n === 2) throw new Error('job 2 failed');
      return n;
    };
    const results = await Promise.allSettled([1, 2, 3, 4].map((n) => q.run(job(n))));
    expect(most).toBe(1);
    expect(order).toEqual([1, 2, 3, 4]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
  });

  it('lets high-priority jobs pass waiting normal ones, never the running one', async () => {
    const q = new SerialQueue();
    const order: string[] = [];
    const job = (name: string) => async () => {
      order.push(name);
      await sleep(1);
    };
    const all = [
      q.run(job('poll-1')),
      q.run(job('poll-2')),
      q.run(job('poll-3')),
      q.run(job('command'), 'high'),
    ];
    await Promise.all(all);
    expect(order).toEqual(['poll-1', 'command', 'poll-2', 'poll-3']);
  });

  it('close rejects waiting and later jobs', async () => {
    const q = new SerialQueue();
    const first = q.run(() => sleep(5).then(() => 'done'));
    const waiting = q.run(async () => 'never');
    expect(q.size).toBe(2);
    q.close(new Error('closed'));
    expect(q.size).toBe(1); // the running job
    await expect(waiting).rejects.toThrow('closed');
    await expect(first).resolves.toBe('done');
    expect(q.size).toBe(0);
    await expect(q.run(async () => 1)).rejects.toThrow('closed');
  });
});
