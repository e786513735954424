/** Runs the ebike-pile family (through its public definition) in a real driver host, for tests. */
import { type HostHarness, type HostHarnessOptions, startHost } from '../../../gateway/devices/testing/host-harness.js';
import { EbikePileConfig, ebikePile } from '../index.js';

/** A fast test config on loopback Modbus TCP: 100 ms polls, 200 ms timeout, short backoff. */
export function ebikeConfig(port: number, devices: Record<string, unknown>[], overrides: Record<string, unknown> = {}): EbikePileConfig {
  return EbikePileConfig.parse({
    family: 'ebike-pile',
    id: 'ebike-bus-test',
    transport: { type: 'tcp', port },
    pollIntervalMs: 100,
    timeoutMs: 200,
    backoff: { initialMs: 200, maxMs: 400 },
    devices,
    ...overrides,
  });
}

export function startEbike(config: EbikePileConfig, options: Partial<HostHarnessOptions> = {}): HostHarness {
  return startHost({ families: [ebikePile], drivers: [config], ...options });
}
