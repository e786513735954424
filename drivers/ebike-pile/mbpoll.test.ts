/**
 * The driver and an independent Modbus master (mbpoll, Debian) read the same simulated pile and
 * must agree: input registers (FC4), the limit holding registers (FC3) and the relay coils (FC1),
 * over Modbus TCP. mbpoll references are 1-based: -r 1 is address 0.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostHarness } from '../../gateway/devices/testing/host-harness.js';
import { waitFor } from '../../gateway/testing/wait-for.js';
import { type RunningEbikeSimulatorTcp, startEbikeSimulatorTcp } from '../../simulators/ebike-pile/index.js';
import { ebikeConfig, startEbike } from './testing/harness.js';

const run = promisify(execFile);

async function mbpoll(port: number, args: string[]): Promise<number[]> {
  const all = ['-1', '-o', '0.5', '-m', 'tcp', '-p', String(port), '-a', '2', ...args, '127.0.0.1'];
  const { stdout } = await run('mbpoll', all, { timeout: 10_000 });
  return [...stdout.matchAll(/^\[(\d+)\]:\s+(-?\d+)/gm)].map((m) => Number(m[2]));
}

let s: RunningEbikeSimulatorTcp;
let host: HostHarness;
beforeAll(async () => {
  s = await startEbikeSimulatorTcp({ units: [2], speedup: 0 });
  host = startEbike(ebikeConfig(s.port, [{ id: 'pile-2', unitId: 2 }]));
});
afterAll(async () => {
  await host?.close();
  await s?.close();
});

describe('ebike-pile driver and mbpoll agree (Modbus TCP)', () => {
  it('port 7 charging: state, current, power, energy, temperature, fault, limit, relay', async () => {
    s.sim.plug(2, 7, true);
    s.sim.step(90_000);
    const r = await waitFor('port 7 charging', () =>
      host.eventsOf('pile-2', 'pile.port.reading').find((e) => e.data.port === 7 && (e.data.energyWh as number) > 0),
    );
    // port 7: input registers 30049..30055 (8 per port), limit 40007, relay 00007
    const [state, centiAmps, watts, energyHi, energyLo, deciC, fault] = await mbpoll(s.port, ['-t', '3', '-r', '49', '-c', '7']);
    expect({ state, amps: centiAmps! / 100, watts, energyWh: energyHi! * 65536 + energyLo!, temperatureC: deciC! / 10, faultCode: fault }).toEqual({
      state: 1, amps: r.data.amps, watts: r.data.watts, energyWh: r.data.energyWh, temperatureC: r.data.temperatureC, faultCode: r.data.faultCode,
    });
    expect(r.data.state).toBe('charging');
    const [limit] = await mbpoll(s.port, ['-t', '4', '-r', '7', '-c', '1']);
    expect(limit! / 10).toBe(r.data.limitAmps);
    const relays = await mbpoll(s.port, ['-t', '0', '-r', '1', '-c', '10']);
    expect(relays[6]).toBe(r.data.relayOn ? 1 : 0);
    expect(relays).toHaveLength(10);
  });
});
