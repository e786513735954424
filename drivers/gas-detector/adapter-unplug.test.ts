/**
 * A USB RS-485 adapter unplugged and plugged in again, while the driver polls: the socat pty pair
 * (the line) is stopped by its pid, which removes its device path, then started again at the same
 * path (socat `link=`), like /dev/serial/by-id/... coming and going with the adapter. Asserted on
 * availability events, their order and reasons, and on the requests the simulator counted.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPtyPair, type PtyPair } from '../../simulators/common/pty-pair.js';
import { type RunningGasSimulatorRtu, startGasSimulatorRtu } from '../../simulators/gas-detector/index.js';
import type { HostHarness } from '../../gateway/devices/testing/host-harness.js';
import { waitFor } from '../../gateway/testing/wait-for.js';
import { gasConfig, startGas } from './testing/harness.js';

let dir: string;
let links: { a: string; b: string };
let pty: PtyPair | undefined;
let sim: RunningGasSimulatorRtu | undefined;
let host: HostHarness;

const UNITS = [
  { unitId: 1, lel: 4 },
  { unitId: 2, lel: 6 },
];

/** The adapter plugged in: the line at the stable paths, the detectors on its far end. */
async function plugIn(): Promise<RunningGasSimulatorRtu> {
  pty = await openPtyPair({ links });
  sim = await startGasSimulatorRtu({ path: links.a, baudRate: 9600, units: UNITS });
  return sim;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gas-adapter-'));
  links = { a: join(dir, 'detectors'), b: join(dir, 'ttyUSB0') };
  await plugIn();
  const cfg = gasConfig(
    { type: 'rtu', path: links.b, baudRate: 9600 },
    [
      { id: 'gas-1', unitId: 1 },
      { id: 'gas-2', unitId: 2 },
    ],
    { offlineAfterFailures: 2, backoff: { initialMs: 200, maxMs: 800 } },
  );
  host = await startGas(cfg);
});

afterAll(async () => {
  await host?.close();
  await sim?.close();
  await pty?.close();
  rmSync(dir, { recursive: true, force: true });
});

const availability = (id: string) => host.availabilityLog.filter((a) => a.deviceId === id);

describe('gas-detector driver when the serial adapter is unplugged and plugged in again', () => {
  it('reports the detectors offline with the reason, reconnects at the same path, and polls again', async () => {
    const first = sim as RunningGasSimulatorRtu;
    for (const id of ['gas-1', 'gas-2']) await waitFor(`${id} online`, () => host.online(id) === true);
    await waitFor('a few polls of each detector', () => first.sim.requests(1) >= 3 && first.sim.requests(2) >= 3);

    // unplug: socat stopped by its pid; the device path goes away with it
    await pty?.close();
    await first.close();
    expect(existsSync(links.b)).toBe(false);
    for (const id of ['gas-1', 'gas-2']) await waitFor(`${id} offline`, () => host.online(id) === false);
    for (const id of ['gas-1', 'gas-2']) {
      const offline = availability(id).find((a) => !a.online);
      // the port closing under the bus, or the bus not connected because of it
      expect(offline?.reason).toMatch(/serial port (disconnected|closed)|port not open|bus not connected/);
    }
    // while the adapter is away the bus keeps trying to open the path, and says why it cannot
    await waitFor('a failed reopen reported', () =>
      host.pollErrors.some((p) => /bus not connected \(connect failed: .*ttyUSB0.*; reconnecting\)/.test(p.reason)),
    );

    // plug in again at the same path: polling resumes on its own
    const second = await plugIn();
    await waitFor('polls reach the detectors again', () => second.sim.requests(1) >= 3 && second.sim.requests(2) >= 3);
    for (const id of ['gas-1', 'gas-2']) await waitFor(`${id} online again`, () => host.online(id) === true);
    for (const id of ['gas-1', 'gas-2']) expect(availability(id).map((a) => a.online)).toEqual([true, false, true]);

    // and readings flow: a level change on the line is reported
    second.sim.setLel(2, 30);
    const low = await waitFor('gas.alarm.low from gas-2', () => host.eventsOf('gas-2', 'gas.alarm.low')[0]);
    expect(low.data).toMatchObject({ lel: 30, status: 'low' });
  });
});
