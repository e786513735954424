/**
 * A dead detector on a shared bus must not starve the others (per-device backoff).
 * Three detectors on one Modbus TCP bus; one stops answering. Everything is asserted on counts
 * and on the order of requests the simulator received, never on elapsed time.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningGasSimulatorTcp, startGasSimulatorTcp } from '../../simulators/gas-detector/index.js';
import type { HostHarness } from '../../gateway/devices/testing/host-harness.js';
import { waitFor } from '../../gateway/testing/wait-for.js';
import { gasConfig, startGas } from './testing/harness.js';

let sim: RunningGasSimulatorTcp;
let host: HostHarness;

beforeAll(async () => {
  sim = await startGasSimulatorTcp({
    units: [
      { unitId: 1, lel: 5 },
      { unitId: 2, lel: 10 },
      { unitId: 3, lel: 15 },
    ],
  });
  const cfg = gasConfig(
    { type: 'tcp', port: sim.port },
    [
      { id: 'gas-1', unitId: 1 },
      { id: 'gas-2', unitId: 2 },
      { id: 'gas-3', unitId: 3 },
    ],
    {
      pollIntervalMs: 100,
      timeoutMs: 150,
      offlineAfterFailures: 3,
      backoff: { initialMs: 400, maxMs: 1200 },
    },
  );
  host = await startGas(cfg);
});

afterAll(async () => {
  await host?.close();
  await sim?.close();
});

describe('a dead gas detector on a shared bus', () => {
  it('goes offline and is retried with backoff while the live ones are polled every cycle', async () => {
    for (const id of ['gas-1', 'gas-2', 'gas-3'])
      await waitFor(`${id} online`, () => host.online(id) === true);
    const base = { 1: sim.sim.requests(1), 2: sim.sim.requests(2), 3: sim.sim.requests(3) };
    const logStart = sim.sim.requestLog.length;

    sim.sim.setResponding(2, false);
    await waitFor('gas-2 offline', () => host.online('gas-2') === false);
    await waitFor('40 more polls of gas-1', () => sim.sim.requests(1) - base[1] >= 40, { timeoutMs: 20_000 });

    const live1 = sim.sim.requests(1) - base[1];
    const live3 = sim.sim.requests(3) - base[3];
    const dead = sim.sim.requests(2) - base[2];
    const log = sim.sim.requestLog.slice(logStart);

    // every cycle polls both live detectors, in order: 1, (2), 3, 1, (2), 3, ...
    const liveOrder = log.filter((u) => u !== 2);
    liveOrder.forEach((u, i) => {
      expect(u).toBe(i % 2 === 0 ? 1 : 3);
    });
    expect(Math.abs(live1 - live3)).toBeLessThanOrEqual(1);
    // and all those polls succeeded
    expect(host.pollErrors.filter((p) => p.deviceId !== 'gas-2')).toEqual([]);
    expect(host.availabilityLog.filter((a) => a.deviceId !== 'gas-2' && !a.online)).toEqual([]);

    // the dead one: offlineAfterFailures attempts, then one per (growing) backoff period
    expect(dead).toBeGreaterThanOrEqual(3);
    expect(dead).toBeLessThan(live1 / 3);
    // so between two polls of a live detector there is at most one timeout
    let deadSinceLive = 0;
    for (const u of log) {
      if (u === 1) deadSinceLive = 0;
      if (u === 2) deadSinceLive += 1;
      expect(deadSinceLive).toBeLessThanOrEqual(1);
    }
    const offline = host.availabilityLog.filter((a) => a.deviceId === 'gas-2' && !a.online);
    expect(offline).toHaveLength(1);
    expect(offline[0]?.reason).toMatch(/timed out/);
  });

  it('comes back online on its first answer after recovering', async () => {
    sim.sim.setResponding(2, true);
    await waitFor('gas-2 online again', () => host.online('gas-2') === true);
    sim.sim.setLel(2, 55);
    await waitFor('gas.alarm.high from gas-2', () => host.eventsOf('gas-2', 'gas.alarm.high')[0]);
  });
});
