import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { DeviceEvent } from '../../gateway/devices/driver-api.js';
import { waitFor } from '../../gateway/testing/wait-for.js';
import { applyChange } from '../../simulators/access-gate/compound.js';
import { type GateRig, startRig } from './testing/harness.js';

const dir = mkdtempSync(join(tmpdir(), 'gate-catch-up-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const rigs: GateRig[] = [];
afterEach(async () => {
  for (const r of rigs.splice(0)) await r.close();
});

const serials = (events: DeviceEvent[]) => events.map((e) => e.data.serialNo as number);

describe('access-gate catch-up with the AcsEvent search', () => {
  it('after a restart, reports the 200 records made while it was stopped: each once, in order, historical', async () => {
    const r = await startRig({ pushRetries: 0, host: { dbPath: join(dir, 'restart.db') } });
    rigs.push(r);
    applyChange(r.sim, { card: '999' });
    await waitFor('live denial', () => r.h.eventsOf('gate-1', 'access.denied').length === 1);
    expect(r.h.eventsOf('gate-1')[0]!.data.historical).toBeUndefined();
    const lastLive = r.sim.model.state().lastSerial;

    await r.stopHost();
    for (let i = 0; i < 100; i++) {
      applyChange(r.sim, { card: `9${i}` });
      applyChange(r.sim, { stranger: true });
    }
    await r.sim.drained();
    expect(r.sim.pushes.failed).toBe(200);

    await r.restartHost();
    const events = await waitFor('200 records caught up', () => {
      const e = r.h.eventsOf('gate-1');
      return e.length >= 200 && e;
    });
    expect(events).toHaveLength(200);
    expect(serials(events)).toEqual(Array.from({ length: 200 }, (_, i) => lastLive + 1 + i));
    expect(events.every((e) => e.data.historical === true && e.historical === true)).toBe(true);
    expect(events.filter((e) => e.type === 'access.denied')).toHaveLength(100);
    expect(events.filter((e) => e.type === 'access.stranger')).toHaveLength(100);
    expect(events[0]!.deviceTime).toBeInstanceOf(Date);

    // Live again: the next record is pushed and reported once, not historical.
    applyChange(r.sim, { stranger: true });
    const live = await waitFor('live stranger', () => r.h.eventsOf('gate-1').at(200));
    expect(live.data).toMatchObject({ serialNo: lastLive + 201 });
    expect(live.data.historical).toBeUndefined();
    expect(live.historical).toBeUndefined();
    await r.sim.drained();
    expect(r.h.eventsOf('gate-1')).toHaveLength(201);
  }, 30_000);

  it('when the terminal comes back after being unreachable, reports what it recorded meanwhile, then goes on live', async () => {
    const r = await startRig({ pushRetries: 0 });
    rigs.push(r);
    applyChange(r.sim, { tamper: true });
    await waitFor('live tamper', () => r.h.eventsOf('gate-1', 'gate.tamper').length === 1);

    applyChange(r.sim, { offline: true });
    for (let i = 0; i < 3; i++) applyChange(r.sim, { card: `7${i}` });
    await waitFor('reported offline', () => r.h.online('gate-1') === false);
    applyChange(r.sim, { offline: false });
    await waitFor('three denials fetched', () => r.h.eventsOf('gate-1', 'access.denied').length === 3, { timeoutMs: 15_000 });
    expect(r.h.online('gate-1')).toBe(true);
    const denied = r.h.eventsOf('gate-1', 'access.denied');
    expect(denied.every((e) => e.data.historical === true)).toBe(true);
    expect(denied.map((e) => e.data.cardNo)).toEqual(['70', '71', '72']);

    applyChange(r.sim, { stranger: true });
    await waitFor('live again', () => r.h.eventsOf('gate-1', 'access.stranger').length === 1);
    expect(r.h.eventsOf('gate-1', 'access.stranger')[0]!.data.historical).toBeUndefined();
    expect(new Set(serials(r.h.eventsOf('gate-1'))).size).toBe(5);
  }, 30_000);

  it('a push that skips records first fetches the skipped ones, in order', async () => {
    const r = await startRig({ pushRetries: 0, driver: { pollIntervalMs: 60_000 } });
    rigs.push(r);
    applyChange(r.sim, { card: '1' });
    await waitFor('first', () => r.h.eventsOf('gate-1').length === 1);
    // Pushes fail (the terminal cannot reach the gateway) while the gateway can still reach it.
    r.sim.setOffline(true);
    for (let i = 0; i < 3; i++) applyChange(r.sim, { card: `5${i}` });
    await r.sim.drained();
    r.sim.setOffline(false);
    applyChange(r.sim, { tamper: true });
    await waitFor('the pushed tamper', () => r.h.eventsOf('gate-1', 'gate.tamper').length === 1);
    const events = r.h.eventsOf('gate-1');
    expect(events.map((e) => [e.type, e.data.historical ?? false])).toEqual([
      ['access.denied', false],
      ['access.denied', true],
      ['access.denied', true],
      ['access.denied', true],
      ['gate.tamper', false],
    ]);
    expect(serials(events)).toEqual([1, 2, 3, 4, 5]);
  });
});
