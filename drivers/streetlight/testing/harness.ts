/** Runs the streetlight family (through its public definition) in a real driver host, for tests. */
import { type HostHarness, type HostHarnessOptions, startHost } from '../../../gateway/devices/testing/host-harness.js';
import type { ManualClock } from '../../../gateway/devices/testing/manual-clock.js';
import { waitFor } from '../../../gateway/testing/wait-for.js';
import type { StreetlightSimulator } from '../../../simulators/streetlight/simulator.js';
import { StreetlightConfig, streetlight } from '../index.js';

/** Shanghai (31.23° N, 121.47° E), Asia/Shanghai. */
export const SHANGHAI = { id: 'site', latitude: 31.23, longitude: 121.47, timezone: 'Asia/Shanghai' };

/** The schedule of the tests: on at sunset+15m, 50 % at 23:00, 80 % at 05:00, off at sunrise-10m. */
export const NIGHT = { on: 'sunset+15m', off: 'sunrise-10m', steps: [{ at: '23:00', level: 50 }, { at: '05:00', level: 80 }] };

/** A fast test config on loopback Modbus TCP: 100 ms polls, 200 ms timeout, short backoff. */
export function lightConfig(port: number, devices: Record<string, unknown>[], overrides: Record<string, unknown> = {}): StreetlightConfig {
  return StreetlightConfig.parse({
    family: 'streetlight',
    id: 'light-bus-test',
    transport: { type: 'tcp', port },
    pollIntervalMs: 100,
    timeoutMs: 200,
    backoff: { initialMs: 200, maxMs: 400 },
    devices,
    ...overrides,
  });
}

export function startLights(config: StreetlightConfig, options: Partial<HostHarnessOptions> = {}): HostHarness {
  return startHost({ families: [streetlight], drivers: [config], ...options });
}

/**
 * Lets `n` poll cycles run under a manual clock: moves it 100 ms at a time until the status
 * blocks (input registers, read once per controller and poll) were read `n` times more per
 * controller. With n ≥ 2, at least one whole cycle ran after the call, its writes done (one poll
 * after the other).
 */
export async function cycles(clock: ManualClock, sim: StreetlightSimulator, n = 2): Promise<void> {
  const target = sim.reads.input + n * sim.unitIds().length;
  await waitFor(`${n} poll cycles`, () => {
    if (sim.reads.input >= target) return true;
    clock.advance(100);
    return false;
  }, { timeoutMs: 30_000 });
}

/** Moves the manual clock to wall time `at` (ms), then lets two poll cycles run. */
export async function at(clock: ManualClock, sim: StreetlightSimulator, t: number): Promise<void> {
  if (t < clock.now()) throw new Error(`the manual clock cannot go back to ${new Date(t).toISOString()}`);
  clock.advance(t - clock.now());
  await cycles(clock, sim);
}

/** Local time in Shanghai → ms: `sh('2026-12-21', '23:30')`. */
export const sh = (day: string, hhmm: string): number => Date.parse(`${day}T${hhmm}:00+08:00`);
