import { describe, expect, it } from 'vitest';
import { type Component, startInOrder } from './components.js';
import { createLogger } from './logger.js';

const log = createLogger('silent');

function recorder() {
  const calls: string[] = [];
  const make = (name: string, failStart = false): Component => ({
    name,
    start() {
      calls.push(`start ${name}`);
      if (failStart) throw new Error(`${name} cannot start`);
    },
    async close() {
      calls.push(`close ${name}`);
    },
  });
  return { calls, make };
}

describe('startInOrder', () => {
  it('starts in order and closes in reverse, once however often close is called', async () => {
    const { calls, make } = recorder();
    const g = await startInOrder([make('journal'), make('broker'), make('drivers')], log);
    await Promise.all([g.close(), g.close()]);
    expect(calls).toEqual([
      'start journal',
      'start broker',
      'start drivers',
      'close drivers',
      'close broker',
      'close journal',
    ]);
  });

  it('a failed start closes what was started, in reverse, and rethrows; later components never start', async () => {
    const { calls, make } = recorder();
    await expect(startInOrder([make('journal'), make('broker'), make('http', true), make('drivers')], log)).rejects.toThrow(
      'http cannot start',
    );
    expect(calls).toEqual(['start journal', 'start broker', 'start http', 'close broker', 'close journal']);
  });

  it('a close that throws does not stop the others from closing', async () => {
    const { calls, make } = recorder();
    const bad: Component = { name: 'bad', start() {}, close: () => Promise.reject(new Error('boom')) };
    const g = await startInOrder([make('journal'), bad, make('drivers')], log);
    await g.close();
    expect(calls).toEqual(['start journal', 'start drivers', 'close drivers', 'close journal']);
  });
});
