/** Runs the io-module family (through its public definition) in a real driver host, for tests. */
import type { DeviceEvent } from '../../../gateway/devices/driver-api.js';
import { type HostHarness, startHost } from '../../../gateway/devices/testing/host-harness.js';
import type { ModbusTransport } from '../../modbus/modbus-transport.js';
import { ioModule, IoModuleConfig } from '../index.js';

/** A fast test config: 100 ms polls, 200 ms timeout, 50 ms debounce, short backoff; a number is a TCP port on loopback. */
export function ioConfig(
  transport: number | (Partial<ModbusTransport> & { type: 'tcp' | 'rtu' }),
  parts: Record<string, unknown>,
  overrides: Record<string, unknown> = {},
): IoModuleConfig {
  return IoModuleConfig.parse({
    family: 'io-module',
    id: 'io-bus-test',
    transport: typeof transport === 'number' ? { type: 'tcp', port: transport } : transport,
    pollIntervalMs: 100,
    timeoutMs: 200,
    debounceMs: 50,
    offlineAfterFailures: 2,
    backoff: { initialMs: 200, maxMs: 400 },
    ...parts,
    ...overrides,
  });
}

export function startIo(config: IoModuleConfig, onEmit?: (e: DeviceEvent) => void): HostHarness {
  return startHost({ families: [ioModule], drivers: [config], onEmit });
}
