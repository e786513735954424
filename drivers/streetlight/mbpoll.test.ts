/**
 * The driver and an independent Modbus master (mbpoll, Debian) read the same simulated group
 * controller and must agree: input registers (FC4), the level holding registers (FC3) and the
 * relay coils (FC1), over Modbus TCP. mbpoll references are 1-based: -r 1 is address 0.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostHarness } from '../../gateway/devices/testing/host-harness.js';
import { waitFor } from '../../gateway/testing/wait-for.js';
import { type RunningStreetlightSimulatorTcp, startStreetlightSimulatorTcp } from '../../simulators/streetlight/index.js';
import { LIGHT_MODELS } from './index.js';
import { lightConfig, startLights } from './testing/harness.js';

const run = promisify(execFile);

async function mbpoll(port: number, args: string[]): Promise<number[]> {
  const all = ['-1', '-o', '0.5', '-m', 'tcp', '-p', String(port), '-a', '3', ...args, '127.0.0.1'];
  const { stdout } = await run('mbpoll', all, { timeout: 10_000 });
  return [...stdout.matchAll(/^\[(\d+)\]:\s+(-?\d+)/gm)].map((m) => Number(m[2]));
}

let s: RunningStreetlightSimulatorTcp;
let host: HostHarness;
beforeAll(async () => {
  s = await startStreetlightSimulatorTcp({ units: [{ unitId: 3, model: LIGHT_MODELS['group-4']! }], speedup: 0 });
  host = startLights(lightConfig(s.port, [{ id: 'pole-3', unitId: 3, model: 'group-4' }]));
  await waitFor('first readings', () => host.eventsOf('pole-3', 'light.reading').length >= 4);
});
afterAll(async () => {
  await host?.close();
  await s?.close();
});

describe('streetlight driver and mbpoll agree (Modbus TCP)', () => {
  it('lamp 3 on at 60 %: voltage, current, power, energy, status, level, relay; controller fault', async () => {
    expect(await host.execute('pole-3', 'light.dim', { lamp: 3, level: 60 })).toMatchObject({ ok: true });
    expect(await host.execute('pole-3', 'light.on', { lamp: 3 })).toMatchObject({ ok: true });
    s.sim.step(10 * 3_600_000); // ten hours at 60 W: 600 Wh
    s.sim.setFault(3, 7);
    const r = await waitFor('lamp 3 reading', () =>
      host.eventsOf('pole-3', 'light.reading').find((e) => e.data.lamp === 3 && e.data.energyWh === 600),
    );
    // lamp 3: input registers 30025..30030 (8 per lamp from 30001 + 8), level 40003, relay 00003
    const [deciV, milliA, deciW, energyHi, energyLo, status] = await mbpoll(s.port, ['-t', '3', '-r', '25', '-c', '6']);
    expect({ volts: deciV! / 10, amps: milliA! / 1000, watts: deciW! / 10, energyWh: energyHi! * 65536 + energyLo!, failure: status === 0 ? 'none' : status }).toEqual({
      volts: r.data.volts, amps: r.data.amps, watts: r.data.watts, energyWh: r.data.energyWh, failure: r.data.failure,
    });
    expect(r.data).toMatchObject({ on: true, level: 60, watts: 60 });
    const levels = await mbpoll(s.port, ['-t', '4', '-r', '1', '-c', '4']);
    expect(levels[2]).toBe(r.data.level);
    const relays = await mbpoll(s.port, ['-t', '0', '-r', '1', '-c', '4']);
    expect(relays).toEqual([0, 0, 1, 0]);
    const [fault] = await mbpoll(s.port, ['-t', '3', '-r', '1', '-c', '1']);
    const reported = await waitFor('fault event', () => host.eventsOf('pole-3', 'light.controller.fault')[0]);
    expect(reported.data.code).toBe(fault);
  });
});
