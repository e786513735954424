/** Runs the gas-detector family (through its public definition) in a real driver host, for tests. */
import type { DeviceEvent } from '../../../gateway/devices/driver-api.js';
import { type HostHarness, startHost } from '../../../gateway/devices/testing/host-harness.js';
import type { ModbusTransport } from '../../modbus/modbus-transport.js';
import { GasDetectorConfig, gasDetector } from '../index.js';

/** A fast test config: 100 ms polls, 200 ms timeout, short backoff. */
export function gasConfig(
  transport: Partial<ModbusTransport> & { type: 'tcp' | 'rtu' },
  devices: { id: string; unitId: number; model?: string }[],
  overrides: Record<string, unknown> = {},
): GasDetectorConfig {
  return GasDetectorConfig.parse({
    family: 'gas-detector',
    id: 'gas-bus-test',
    transport,
    pollIntervalMs: 100,
    timeoutMs: 200,
    backoff: { initialMs: 300, maxMs: 1000 },
    devices,
    ...overrides,
  });
}

/** Starts a host with this one gas bus; resolves at once, like the gateway's start. */
export async function startGas(config: GasDetectorConfig, onEmit?: (e: DeviceEvent) => void): Promise<HostHarness> {
  return startHost({ families: [gasDetector], drivers: [config], onEmit });
}
