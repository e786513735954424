/**
 * Simulated gas detectors for the bench: each "device message" is the block of register words a
 * Modbus poll of a `generic-lel` detector returns, handed to the driver's real, pure normalise().
 * Each detector walks a level cycle that always crosses the deadband, and once per cycle enters
 * the low alarm and comes back, so every message yields at least one event:
 * per 10 messages, 10 `gas.reading` (telemetry) + 1 `gas.alarm.low` (alarm) + 1 `gas.normal` (event).
 * With `telemetryOnly`, the cycle stays below the low threshold: one `gas.reading` per message.
 */

import { GAS_MODELS } from '../../drivers/gas-detector/models.js';
import { writeFields } from '../../drivers/modbus/register-map.js';
import {
  type GasState,
  type NormaliseResult,
  normalise,
  type ReportPolicy,
} from '../../drivers/gas-detector/normalise.js';
import type { DeviceRef } from '../../gateway/core/envelope.js';
import type { DriverConfig } from '../../gateway/devices/driver-api.js';

const MODEL = GAS_MODELS['generic-lel']!;
const LOW = 20; // %LEL
const HIGH = 50;
/** %LEL per poll; 25 is above the low threshold (status low), 12 is back to normal. */
const LEVELS = [2, 5, 8, 11, 14, 25, 12, 9, 6, 3] as const;

/** The register words a detector at this level answers, laid out by the model. */
function words(lel: number): number[] {
  const status = lel >= HIGH ? 'high' : lel >= LOW ? 'low' : 'normal';
  return writeFields(MODEL, { lel, status, lowThreshold: LOW, highThreshold: HIGH, faultCode: 0 }).main as number[];
}
const WORDS = LEVELS.map(words);
/** Below the low threshold, each step across the deadband: telemetry only. */
const QUIET_WORDS = [2, 5, 8, 11, 14, 17, 14, 11, 8, 5].map(words);

interface Detector {
  policy: ReportPolicy;
  state?: GasState;
  step: number;
}

export class GasFleet {
  readonly devices = new Map<string, DeviceRef>();
  private readonly detectors: Detector[] = [];
  private next = 0;
  private readonly words: number[][];
  /** Events per device message, on average, once every detector has been read once. */
  static readonly EVENTS_PER_MESSAGE = 1.2;

  constructor(count: number, opts: { telemetryOnly?: boolean } = {}) {
    this.words = opts.telemetryOnly ? QUIET_WORDS : WORDS;
    for (let i = 0; i < count; i++) {
      const id = `gas-${String(i + 1).padStart(5, '0')}`;
      this.devices.set(id, {
        id,
        family: 'gas-detector',
        building: `b${String((i % 400) + 1).padStart(3, '0')}`,
        zone: `kitchen-${(i % 10) + 1}`,
        tags: ['kitchen'],
      });
      // The driver's defaults: 1 %LEL deadband, a reading at least every 60 s.
      this.detectors.push({
        policy: { deviceId: id, lelDeadband: 1, reportIntervalMs: 60_000 },
        step: i % this.words.length,
      });
    }
  }

  /** The fleet as one driver instance of the site file (for the gateway's inventory). */
  driverConfig(id: string): DriverConfig {
    const devices = [...this.devices.values()].map((ref, i) => ({ ...ref, unitId: (i % 247) + 1, model: 'generic-lel' }));
    return { id, family: 'gas-detector', enabled: true, devices };
  }

  /** The next detector's poll answer, normalised as the driver does it (state kept per detector). */
  poll(receivedAt: Date): NormaliseResult {
    const d = this.detectors[this.next]!;
    this.next = (this.next + 1) % this.detectors.length;
    const w = this.words[d.step]!;
    d.step = (d.step + 1) % this.words.length;
    const r = normalise(d.state, w, MODEL, receivedAt, d.policy);
    if (r.ok) d.state = r.state;
    return r;
  }
}

/** The background of the alarm-latency sections: buses of polled gas detectors on Modbus TCP simulators. */
export const POLLED_FLEET = { buses: 10, unitsPerBus: 200, pollMs: 1000 } as const;

/** The site-file driver entries of those buses: detector `gas-<bus>-<unit>` in building `b<1..40>`. */
export function polledFleetDrivers(sims: readonly { host: string; port: number }[], tags: string[]) {
  return sims.map((s, b) => ({
    family: 'gas-detector',
    id: `gas-bus-${b + 1}`,
    transport: { type: 'tcp', host: s.host, port: s.port },
    pollIntervalMs: POLLED_FLEET.pollMs,
    timeoutMs: 500,
    devices: Array.from({ length: POLLED_FLEET.unitsPerBus }, (_, u) => ({
      id: `gas-${b + 1}-${u + 1}`,
      unitId: u + 1,
      building: `b${(u % 40) + 1}`,
      zone: `kitchen-${u + 1}`,
      tags,
    })),
  }));
}

/**
 * Keeps every detector's level wandering below the low threshold, past the deadband, so most
 * polls yield a reading; `skip` leaves a detector alone (one the bench is driving). Resolves
 * once stopped.
 */
export function wanderLevels(
  sims: readonly { sim: { setLel(unit: number, lel: number): void } }[],
  skip: (id: string) => boolean = () => false,
): { stop(): Promise<void> } {
  const units = sims.flatMap((s, b) =>
    Array.from({ length: POLLED_FLEET.unitsPerBus }, (_, u) => ({ sim: s.sim, unit: u + 1, id: `gas-${b + 1}-${u + 1}` })),
  );
  let running = true;
  const loop = (async () => {
    while (running) {
      for (const u of units) if (!skip(u.id)) u.sim.setLel(u.unit, Math.round(Math.random() * 150) / 10);
      await new Promise((r) => setTimeout(r, POLLED_FLEET.pollMs / 2));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
    },
  };
}
