/**
 * Contract test: the gas-detector driver against its simulator over Modbus RTU, through a
 * socat pseudo-terminal pair (a virtual RS-485 line): simulator on one end, driver on the other.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningGasSimulatorRtu, startGasSimulatorRtu } from '../../simulators/gas-detector/index.js';
import type { HostHarness } from '../../gateway/devices/testing/host-harness.js';
import { openPtyPair, type PtyPair } from '../../simulators/common/pty-pair.js';
import { waitFor } from '../../gateway/testing/wait-for.js';
import { gasConfig, startGas } from './testing/harness.js';

let pty: PtyPair;
let sim: RunningGasSimulatorRtu;
let host: HostHarness;

beforeAll(async () => {
  pty = await openPtyPair();
  sim = await startGasSimulatorRtu({ path: pty.a, baudRate: 9600, units: [{ unitId: 1, lel: 7.5 }, 5, 6] });
  sim.sim.setResponding(6, false); // a dead detector on the line
  const cfg = gasConfig({ type: 'rtu', path: pty.b, baudRate: 9600 }, [
    { id: 'gas-1', unitId: 1 },
    { id: 'gas-5', unitId: 5 },
    { id: 'gas-6', unitId: 6 },
  ]);
  host = await startGas(cfg);
});

afterAll(async () => {
  await host?.close();
  await sim?.close();
  await pty?.close();
});

describe('gas-detector driver over Modbus RTU (simulator on a pty pair)', () => {
  it('reports readings of the live detectors and the dead one offline', async () => {
    const r = await waitFor('first reading of gas-1', () => host.eventsOf('gas-1', 'gas.reading')[0]);
    expect(r.data).toEqual({ lel: 7.5, lowThreshold: 20, highThreshold: 50, status: 'normal' });
    await waitFor('first reading of gas-5', () => host.eventsOf('gas-5', 'gas.reading')[0]);
    await waitFor('gas-6 offline', () => host.online('gas-6') === false);
    expect(host.pollErrors.find((p) => p.deviceId === 'gas-6')?.reason).toMatch(/timed out/);
  });

  it('raises gas.alarm.high and gas.fault from the line', async () => {
    sim.sim.setLel(5, 75);
    const alarm = await waitFor('gas.alarm.high', () => host.eventsOf('gas-5', 'gas.alarm.high')[0]);
    expect(alarm.data).toMatchObject({ lel: 75, status: 'high' });
    sim.sim.setFault(1, 3);
    const fault = await waitFor('gas.fault', () => host.eventsOf('gas-1', 'gas.fault')[0]);
    expect(fault.data).toMatchObject({ faultCode: 3 });
  });

  it('valve.close closes the valve over RTU', async () => {
    expect(await host.execute('gas-5', 'valve.close', {})).toEqual({
      ok: true,
      data: { valveClosed: true },
    });
    expect(sim.sim.getValve(5)).toBe(true);
    expect(sim.sim.getValve(1)).toBe(false);
  });

  it('survives the serial line going away: detectors go offline, nothing crashes', async () => {
    await sim.close();
    await pty.close();
    await waitFor('gas-1 offline', () => host.online('gas-1') === false);
    await waitFor('gas-5 offline', () => host.online('gas-5') === false);
    expect(await host.execute('gas-5', 'valve.open', {})).toMatchObject({ ok: false });
  });
});
