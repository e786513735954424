/**
 * Contract test against an independent Modbus slave: pymodbus 3.0 (Debian python3-pymodbus)
 * serving the generic-lel register map on loopback. Not our simulator, not our Modbus code.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostHarness } from '../../gateway/devices/testing/host-harness.js';
import { waitFor } from '../../gateway/testing/wait-for.js';
import { gasConfig, startGas } from './testing/harness.js';
import { type Slave, startSlave } from './testing/pymodbus.js';

let pymodbus: Slave;
let host: HostHarness;

beforeAll(async () => {
  pymodbus = await startSlave({
    1: [123, 0, 200, 500, 0], // 12.3 %LEL, normal
    2: [600, 2, 200, 500, 0], // 60 %LEL, high alarm
    3: [0, 3, 200, 500, 9], // fault 9
  });
  const cfg = gasConfig({ type: 'tcp', port: pymodbus.port }, [
    { id: 'gas-1', unitId: 1 },
    { id: 'gas-2', unitId: 2 },
    { id: 'gas-3', unitId: 3 },
    { id: 'gas-4', unitId: 4 }, // not served: pymodbus stays silent
  ]);
  host = await startGas(cfg);
});

afterAll(async () => {
  await host?.close();
  await pymodbus?.close();
});

describe('gas-detector driver against pymodbus 3.0', () => {
  it('reads the levels and raises the alarms and faults the slave holds', async () => {
    const r1 = await waitFor('gas-1 reading', () => host.eventsOf('gas-1', 'gas.reading')[0]);
    expect(r1.data).toEqual({ lel: 12.3, lowThreshold: 20, highThreshold: 50, status: 'normal' });
    const high = await waitFor('gas-2 high alarm', () => host.eventsOf('gas-2', 'gas.alarm.high')[0]);
    expect(high).toMatchObject({ kind: 'alarm', severity: 'critical', data: { lel: 60, status: 'high' } });
    const fault = await waitFor('gas-3 fault', () => host.eventsOf('gas-3', 'gas.fault')[0]);
    expect(fault.data).toMatchObject({ faultCode: 9, status: 'fault' });
    await waitFor('gas-4 offline', () => host.online('gas-4') === false);
    expect(host.online('gas-1')).toBe(true);
    expect(host.invalids).toEqual([]);
  });

  it('follows changes made in the slave', async () => {
    await pymodbus.set(1, 0, 300, 1); // 30 %LEL, low alarm
    const low = await waitFor('gas-1 low alarm', () => host.eventsOf('gas-1', 'gas.alarm.low')[0]);
    expect(low.data).toMatchObject({ lel: 30, status: 'low' });
    await pymodbus.set(3, 1, 0, 200, 500, 0); // fault cleared
    await waitFor('gas-3 fault cleared', () => host.eventsOf('gas-3', 'gas.fault.cleared')[0]);
    await pymodbus.set(2, 0, 40, 0); // 4 %LEL, normal
    await waitFor('gas-2 normal', () => host.eventsOf('gas-2', 'gas.normal')[0]);
  });

  it('closes the valve: the coil pymodbus holds reads back ON', async () => {
    expect(await host.execute('gas-2', 'valve.close', {})).toEqual({
      ok: true,
      data: { valveClosed: true },
    });
    expect(await host.execute('gas-2', 'valve.open', {})).toEqual({
      ok: true,
      data: { valveClosed: false },
    });
  });
});
