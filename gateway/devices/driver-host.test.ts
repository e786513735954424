import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../core/clock.js';
import type { Metrics } from '../core/metrics.js';
import type { DriverContext } from './driver-api.js';
import { type HostHarness, type HostHarnessOptions, startHost } from './testing/host-harness.js';
import { widgetConfig, widgetFamily } from './testing/test-family.js';

const flush = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};
const counter = async (m: Metrics[keyof Metrics], labels: Record<string, string>) =>
  ((await (m as Metrics['pollErrors']).get()).values.find((v) =>
    Object.entries(labels).every(([k, x]) => v.labels[k as never] === x),
  )?.value ?? 0);

let open: HostHarness[] = [];
afterEach(async () => {
  await Promise.all(open.map((h) => h.close()));
  open = [];
});

/** A host on a manual clock with one widget driver (a: model full, b: model plain), started and running. */
async function widgets(
  o: { poll?: boolean; livenessTimeoutMs?: number; config?: Record<string, unknown>; failStarts?: number } & Partial<HostHarnessOptions> = {},
) {
  const clock = new ManualClock(0);
  const { family, control } = widgetFamily({ poll: o.poll ?? false, livenessTimeoutMs: o.livenessTimeoutMs });
  control.failStarts = o.failStarts ?? 0;
  const h = startHost({
    families: [family],
    drivers: o.drivers ?? [widgetConfig([{ id: 'a' }, { id: 'b', model: 'plain' }], o.config)],
    clock,
    random: () => 0.5,
    restartBackoff: { initialMs: 100, maxMs: 1000 },
    dbPath: o.dbPath,
  });
  open.push(h);
  await flush();
  return { h, clock, control, ctx: () => control.ctx as DriverContext };
}

describe('driver host: events', () => {
  it('ingests a valid event after marking its device online', async () => {
    const { h, ctx } = await widgets();
    ctx().emit({ deviceId: 'a', type: 'widget.reading', kind: 'telemetry', severity: 'info', data: { value: 3 } });
    expect(h.availabilityLog).toEqual([{ deviceId: 'a', online: true }]);
    expect(h.events.map((e) => e.data)).toEqual([{ value: 3 }]);
    expect(await counter(h.metrics.devicesOnline, { family: 'widget' })).toBe(1);
  });

  it('refuses an unknown type, bad data, a wrong lane and another driver\'s device: counted, never ingested', async () => {
    const { h, ctx } = await widgets();
    const base = { kind: 'telemetry', severity: 'info' } as const;
    ctx().emit({ ...base, deviceId: 'a', type: 'widget.explosion', data: { value: 1 } });
    ctx().emit({ ...base, deviceId: 'a', type: 'widget.reading', data: { value: 'high' } });
    ctx().emit({ ...base, deviceId: 'a', type: 'widget.reading', kind: 'alarm', data: { value: 1 } });
    ctx().emit({ ...base, deviceId: 'zz', type: 'widget.reading', data: { value: 1 } });
    expect(h.events).toEqual([]);
    expect(h.availabilityLog).toEqual([]); // refused input is not hearing from the device
    expect(h.invalids.map((i) => i.reason)).toEqual([
      'unknown event type "widget.explosion" (a widget emits: widget.reading)',
      expect.stringMatching(/^bad data for widget.reading: value: /),
      'widget.reading is telemetry, reported as alarm',
      'not a device of driver widgets',
    ]);
    expect(await counter(h.metrics.invalidInputs, { family: 'widget' })).toBe(4);
  });

  it('drops repeated availability reports and keeps the online gauge right', async () => {
    const { h, ctx } = await widgets();
    ctx().availability('a', true);
    ctx().availability('a', true);
    ctx().availability('b', false, 'unplugged'); // first report offline: the gauge does not go below 0
    ctx().availability('a', false, 'gone');
    ctx().availability('a', false, 'gone again');
    expect(h.availabilityLog).toEqual([
      { deviceId: 'a', online: true },
      { deviceId: 'b', online: false, reason: 'unplugged' },
      { deviceId: 'a', online: false, reason: 'gone' },
    ]);
    expect(await counter(h.metrics.devicesOnline, { family: 'widget' })).toBe(0);
  });
});

describe('driver host: liveness', () => {
  it('reports a device offline when not heard from within the family timeout; hearing brings it back', async () => {
    const { h, clock, ctx } = await widgets({ livenessTimeoutMs: 90_000 });
    ctx().seen('a');
    clock.advance(60_000);
    ctx().seen('a'); // heard again: the timer starts over
    clock.advance(89_999);
    expect(h.online('a')).toBe(true);
    clock.advance(1);
    expect(h.availabilityLog.filter((x) => x.deviceId === 'a')).toEqual([
      { deviceId: 'a', online: true },
      { deviceId: 'a', online: false, reason: 'not heard from for 90 s' },
    ]);
    // b was never heard from: offline at the timeout after start
    expect(h.online('b')).toBe(false);
    ctx().emit({ deviceId: 'a', type: 'widget.reading', kind: 'telemetry', severity: 'info', data: { value: 1 } });
    expect(h.online('a')).toBe(true);
  });

  it('the driver config timeout overrides the family one; none, no liveness', async () => {
    const { h, clock, ctx } = await widgets({ livenessTimeoutMs: 90_000, config: { livenessTimeoutMs: 5000 } });
    ctx().seen('a');
    clock.advance(5000);
    expect(h.availabilityLog.at(-1)).toMatchObject({ deviceId: 'a', online: false, reason: 'not heard from for 5 s' });
    const quiet = await widgets();
    quiet.ctx().seen('a');
    quiet.clock.advance(10 * 60_000);
    expect(quiet.h.online('a')).toBe(true);
  });
});

describe('driver host: poll schedule', () => {
  it('polls on the config schedule: failures counted, offline after offlineAfterFailures, back on one good poll', async () => {
    const { h, clock, control } = await widgets({ poll: true, config: { pollIntervalMs: 100, offlineAfterFailures: 2 } });
    control.pollOutcome.set('b', new Error('no answer'));
    for (let i = 0; i < 3; i++) {
      clock.advance(100);
      await flush();
    }
    expect(control.polls.slice(0, 4)).toEqual(['a', 'b', 'a', 'b']);
    expect(h.online('a')).toBe(true);
    expect(h.availabilityLog.filter((x) => x.deviceId === 'b')).toEqual([{ deviceId: 'b', online: false, reason: 'no answer' }]);
    expect(await counter(h.metrics.pollErrors, { driver: 'widgets' })).toBe(2);
    expect(h.pollErrors).toEqual([
      { deviceId: 'b', reason: 'no answer' },
      { deviceId: 'b', reason: 'no answer' },
    ]);
    control.pollOutcome.delete('b');
    clock.advance(2000); // past its backoff
    await flush();
    expect(h.online('b')).toBe(true);
  });

  it('pollNow from the driver runs a cycle at once', async () => {
    const { clock, control, ctx } = await widgets({ poll: true, config: { pollIntervalMs: 60_000 } });
    ctx().pollNow();
    clock.advance(0);
    await flush();
    expect(control.polls).toEqual(['a', 'b']);
  });
});

describe('driver host: commands', () => {
  it('routes a command with parsed arguments to the handler with the device entry', async () => {
    const { h, control } = await widgets();
    expect(await h.execute('a', 'dim.set', { percent: 40 })).toEqual({ ok: true, data: { done: 'dim.set' } });
    expect(control.commands).toEqual([{ deviceId: 'a', name: 'dim.set', args: { percent: 40 } }]);
  });

  it('refuses an unknown device or command, one the model lacks, and bad arguments, without running anything', async () => {
    const { h, control } = await widgets();
    expect(await h.execute('zz', 'dim.set', {})).toEqual({ ok: false, error: 'unknown device "zz"' });
    expect(await h.execute('a', 'fly', {})).toEqual({
      ok: false,
      error: 'a widget has no command "fly" (commands: valve.close, dim.set, door.open)',
    });
    expect(await h.execute('b', 'valve.close', {})).toEqual({
      ok: false,
      error: 'b (model plain) does not accept "valve.close"; it accepts: dim.set',
    });
    const bad = await h.execute('a', 'dim.set', { percent: 140 });
    expect(bad).toMatchObject({ ok: false, error: expect.stringMatching(/^bad arguments for dim.set: percent: /) });
    expect(control.commands).toEqual([]);
  });

  it('an accepted command calls onAccepted at once and resolves with the final result', async () => {
    const { h, control } = await widgets();
    const accepted: unknown[] = [];
    let settled = false;
    const res = h.execute('a', 'door.open', {}, { onAccepted: (d) => accepted.push(d) }).then((r) => {
      settled = true;
      return r;
    });
    await flush();
    expect(accepted).toEqual([{ eta: 5 }]);
    expect(settled).toBe(false);
    control.finishDoor?.({ ok: true, data: { open: true } });
    expect(await res).toEqual({ ok: true, data: { open: true } });
  });

  it('refuses commands to a disabled driver and to one that is not running', async () => {
    const disabled = await widgets({ drivers: [widgetConfig([{ id: 'a' }], { enabled: false })] });
    expect(await disabled.h.execute('a', 'dim.set', { percent: 1 })).toEqual({ ok: false, error: 'driver widgets is disabled' });
    expect(disabled.h.host.status()).toEqual([]);
    const failing = await widgets({ failStarts: 1 });
    expect(await failing.h.execute('a', 'dim.set', { percent: 1 })).toEqual({
      ok: false,
      error: 'driver widgets is not running (backoff)',
    });
  });
});

describe('driver host: supervision', () => {
  it('restarts an instance that fails to start after its backoff delay, and counts the restarts', async () => {
    const { h, clock, control } = await widgets({ failStarts: 2 });
    expect(h.host.status()).toEqual([{ id: 'widgets', family: 'widget', state: 'backoff', lastError: 'start 1 failed' }]);
    clock.advance(99);
    await flush();
    expect(control.started).toBe(1);
    clock.advance(1);
    await flush();
    expect(control.started).toBe(2);
    clock.advance(200);
    await flush();
    expect(h.host.status()).toEqual([{ id: 'widgets', family: 'widget', state: 'running' }]);
    expect(control.stopped).toBe(2);
    expect(await counter(h.metrics.driverRestarts, { driver: 'widgets' })).toBe(2);
  });

  it('a fatal fault restarts the instance with a fresh context; close stops it once and is idempotent', async () => {
    const { h, clock, control } = await widgets();
    const first = control.ctx;
    control.fatal?.(new Error('lost'));
    clock.advance(100);
    await flush();
    expect(control.created).toBe(2);
    expect(control.ctx).not.toBe(first);
    // the old context reports nothing any more
    first?.emit({ deviceId: 'a', type: 'widget.reading', kind: 'telemetry', severity: 'info', data: { value: 1 } });
    expect(h.events).toEqual([]);
    await Promise.all([h.host.close(), h.host.close()]);
    expect(control.stopped).toBe(2);
    expect(h.host.status()[0]?.state).toBe('stopped');
  });
});

describe('driver store', () => {
  it('keeps values per driver instance across a reopened database file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'driver-store-'));
    const dbPath = join(dir, 'gw.db');
    try {
      const one = await widgets({ dbPath });
      const s = one.ctx().store;
      s.set('serial', { n: 5 });
      s.set('seen/b', 2);
      s.set('seen/a', 1);
      s.set('seen_', 9); // `_` is no wildcard
      s.set('gone', true);
      s.delete('gone');
      await one.h.close();
      const two = await widgets({ dbPath });
      const t = two.ctx().store;
      expect(t.get('serial')).toEqual({ n: 5 });
      expect(t.get('gone')).toBeUndefined();
      expect(t.entries('seen/')).toEqual([
        ['seen/a', 1],
        ['seen/b', 2],
      ]);
      expect(t.entries().map(([k]) => k)).toEqual(['seen/a', 'seen/b', 'seen_', 'serial']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
