/**
 * Contract test: the gas-detector driver against its simulator over Modbus TCP on loopback.
 * The device side is the real protocol (modbus-serial ServerTCP); only the driver context is recorded.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeviceEvent } from '../../gateway/devices/driver-api.js';
import { type RunningGasSimulatorTcp, startGasSimulatorTcp } from '../../simulators/gas-detector/index.js';
import { freePort } from '../../gateway/core/free-port.js';
import type { HostHarness } from '../../gateway/devices/testing/host-harness.js';
import { waitFor } from '../../gateway/testing/wait-for.js';
import { gasConfig, startGas } from './testing/harness.js';

let sim: RunningGasSimulatorTcp;
let host: HostHarness;
/** Requests unit 1 had received when each of its events was emitted. */
const unit1RequestsAt = new Map<DeviceEvent, number>();

beforeAll(async () => {
  sim = await startGasSimulatorTcp({ units: [{ unitId: 1, lel: 12.5 }, { unitId: 2 }] });
  const cfg = gasConfig({ type: 'tcp', port: sim.port }, [
    { id: 'gas-1', unitId: 1 },
    { id: 'gas-2', unitId: 2, model: 'generic-lel-novalve' },
  ]);
  host = await startGas(cfg, (e) => {
    if (e.deviceId === 'gas-1') unit1RequestsAt.set(e, sim.sim.requests(1));
  });
});

afterAll(async () => {
  await host?.close();
  await sim?.close();
});

describe('gas-detector driver over Modbus TCP (simulator)', () => {
  it('reports readings and availability', async () => {
    const first = await waitFor('first reading of gas-1', () => host.eventsOf('gas-1', 'gas.reading')[0]);
    expect(first).toMatchObject({
      kind: 'telemetry',
      severity: 'info',
      data: { lel: 12.5, lowThreshold: 20, highThreshold: 50, status: 'normal' },
    });
    expect(first.receivedAt).toBeInstanceOf(Date);
    await waitFor('first reading of gas-2', () => host.eventsOf('gas-2', 'gas.reading')[0]);
    expect(host.online('gas-1')).toBe(true);
    expect(host.online('gas-2')).toBe(true);
    expect(host.invalids).toEqual([]);
  });

  it('raises gas.alarm.high within the next poll after the level crosses the high threshold', async () => {
    const before = sim.sim.requests(1);
    sim.sim.setLel(1, 62.5);
    const alarm = await waitFor('gas.alarm.high', () => host.eventsOf('gas-1', 'gas.alarm.high')[0]);
    expect(alarm).toMatchObject({ kind: 'alarm', severity: 'critical', data: { lel: 62.5, status: 'high' } });
    // at most the poll already under way plus the next one
    expect((unit1RequestsAt.get(alarm) ?? Number.POSITIVE_INFINITY) - before).toBeLessThanOrEqual(2);
  });

  it('steps down through gas.alarm.low to gas.normal', async () => {
    sim.sim.setLel(1, 25);
    await waitFor('gas.alarm.low', () => host.eventsOf('gas-1', 'gas.alarm.low')[0]);
    sim.sim.setLel(1, 3);
    const normal = await waitFor('gas.normal', () => host.eventsOf('gas-1', 'gas.normal')[0]);
    expect(normal.data).toMatchObject({ lel: 3, status: 'normal' });
  });

  it('valve.close closes the valve on the device and reads it back; valve.open opens it', async () => {
    expect(sim.sim.getValve(1)).toBe(false);
    expect(await host.execute('gas-1', 'valve.close', {})).toEqual({
      ok: true,
      data: { valveClosed: true },
    });
    expect(sim.sim.getValve(1)).toBe(true);
    expect(sim.sim.getValve(2)).toBe(false);
    expect(await host.execute('gas-1', 'valve.open', {})).toEqual({
      ok: true,
      data: { valveClosed: false },
    });
    expect(sim.sim.getValve(1)).toBe(false);
  });

  it('refuses unknown devices, commands and bad arguments without touching the valve', async () => {
    expect(await host.execute('gas-9', 'valve.close', {})).toEqual({ ok: false, error: 'unknown device "gas-9"' });
    expect(await host.execute('gas-1', 'valve.wiggle', {})).toMatchObject({
      ok: false,
      error: /has no command "valve.wiggle" \(commands: valve.close, valve.open\)/,
    });
    expect(await host.execute('gas-1', 'valve.close', 'now')).toMatchObject({
      ok: false,
      error: /bad arguments for valve.close/,
    });
    expect(sim.sim.getValve(1)).toBe(false);
  });

  it('refuses valve commands to a model without a valve relay', async () => {
    const res = await host.execute('gas-2', 'valve.close', {});
    expect(res).toEqual({
      ok: false,
      error: 'gas-2 (model generic-lel-novalve) does not accept "valve.close"; it accepts: no commands',
    });
    expect(sim.sim.getValve(2)).toBe(false);
  });

  it('reports a fault with its code, and its clearing', async () => {
    sim.sim.setFault(2, 42);
    const fault = await waitFor('gas.fault', () => host.eventsOf('gas-2', 'gas.fault')[0]);
    expect(fault).toMatchObject({
      kind: 'alarm',
      severity: 'major',
      data: { faultCode: 42, status: 'fault' },
    });
    sim.sim.setFault(2, 0);
    await waitFor('gas.fault.cleared', () => host.eventsOf('gas-2', 'gas.fault.cleared')[0]);
  });

  it('reports data that does not validate as invalid, not as events, and the device stays online', async () => {
    const events = host.eventsOf('gas-2').length;
    sim.sim.setThresholds(2, 60, 30);
    const bad = await waitFor('invalid report', () => host.invalids.find((i) => i.deviceId === 'gas-2'));
    expect(bad.reason).toMatch(/low alarm threshold must be below the high/);
    expect(bad.raw).toEqual({ main: [0, 0, 600, 300, 0] }); // the blocks read, by name
    expect(host.eventsOf('gas-2').length).toBe(events);
    expect(host.online('gas-2')).toBe(true);
    sim.sim.setThresholds(2, 20, 50);
  });
});

describe('gas-detector driver with its bus absent at start', () => {
  it('starts at once, reports the detectors offline, and picks them up when the bus appears', async () => {
    const port = await freePort();
    const cfg = gasConfig({ type: 'tcp', port }, [{ id: 'gas-7', unitId: 7 }], {
      backoff: { initialMs: 200, maxMs: 400 },
    });
    const c = await startGas(cfg); // resolves although nothing listens
    let s: RunningGasSimulatorTcp | undefined;
    try {
      await waitFor('gas-7 offline', () => c.online('gas-7') === false);
      expect(c.availabilityLog.at(-1)?.reason).toMatch(/not connected/);
      s = await startGasSimulatorTcp({ port, units: [{ unitId: 7, lel: 21 }] });
      const alarm = await waitFor('gas-7 low alarm', () => c.eventsOf('gas-7', 'gas.alarm.low')[0]);
      expect(alarm.data).toMatchObject({ lel: 21, status: 'low' });
      expect(c.online('gas-7')).toBe(true);
    } finally {
      await c.close();
      await s?.close();
    }
  });
});
