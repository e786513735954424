import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createLogger } from '../core/logger.js';
import type { AnyDriverDefinition, DriverContext, DriverInstance } from './driver-api.js';
import { DriverSupervisor } from './supervisor.js';

const log = createLogger('silent');
const ctx: DriverContext = {
  log,
  emit() {},
  availability() {},
  invalid() {},
  pollError() {},
  busy: () => false,
};

/** A driver whose behaviour each test scripts: how many starts fail, and a handle to report a fatal fault. */
function scriptedDriver(failStarts: number) {
  const calls = { create: 0, start: 0, stop: 0 };
  let fatal: ((err: Error) => void) | undefined;
  const definition: AnyDriverDefinition = {
    family: 'scripted',
    configSchema: z.any(),
    commands: { ping: z.object({}) },
    eventTypes: [],
    create(): DriverInstance {
      calls.create += 1;
      return {
        async start() {
          calls.start += 1;
          if (calls.start <= failStarts) throw new Error(`start ${calls.start} failed`);
        },
        async stop() {
          calls.stop += 1;
        },
        async command() {
          return { ok: true, data: { pong: true } };
        },
        onFatal(listener) {
          fatal = listener;
        },
      };
    },
  };
  return { definition, calls, fatal: (err: Error) => fatal?.(err) };
}

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(cond()).toBe(true);
}

describe('driver supervisor', () => {
  it('restarts a driver whose start fails, with backoff, until it runs', async () => {
    const d = scriptedDriver(2);
    let restarts = 0;
    const sup = new DriverSupervisor({
      definition: d.definition,
      config: { id: 'x', devices: [] },
      context: ctx,
      log,
      initialBackoffMs: 5,
      onRestart: () => restarts++,
    });
    sup.start();
    await until(() => sup.state === 'running');
    expect(d.calls.start).toBe(3);
    expect(restarts).toBe(2);
    expect(d.calls.stop).toBe(2); // each failed instance was stopped before the next one
    expect(await sup.command('dev', 'ping', {})).toEqual({ ok: true, data: { pong: true } });
    await sup.stop();
    expect(sup.state).toBe('stopped');
  });

  it('restarts a running driver that reports a fatal fault; refuses commands meanwhile', async () => {
    const d = scriptedDriver(0);
    const sup = new DriverSupervisor({
      definition: d.definition,
      config: { id: 'x', devices: [] },
      context: ctx,
      log,
      initialBackoffMs: 50,
    });
    sup.start();
    await until(() => sup.state === 'running');
    d.fatal(new Error('bus gone'));
    expect(sup.state).toBe('backoff');
    expect(sup.lastError).toBe('bus gone');
    expect(await sup.command('dev', 'ping', {})).toEqual({
      ok: false,
      error: 'driver x is not running (backoff)',
    });
    await until(() => sup.state === 'running');
    expect(d.calls.create).toBe(2);
    await sup.stop();
  });

  it('a stopped supervisor does not restart', async () => {
    const d = scriptedDriver(100);
    const sup = new DriverSupervisor({
      definition: d.definition,
      config: { id: 'x', devices: [] },
      context: ctx,
      log,
      initialBackoffMs: 5,
    });
    sup.start();
    await until(() => d.calls.start >= 1);
    await sup.stop();
    const starts = d.calls.start;
    await new Promise((r) => setTimeout(r, 50));
    expect(d.calls.start).toBe(starts);
  });
});
