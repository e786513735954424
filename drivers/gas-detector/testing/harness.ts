/** Starts the gas-detector driver (through its public definition) with a recording context, for tests. */
import type { DeviceEvent } from '../../../gateway/core/envelope.js';
import type { DriverInstance } from '../../../gateway/devices/driver-api.js';
import type { ModbusTransport } from '../../modbus/modbus-transport.js';
import { fakeContext, type RecordingContext } from '../../../gateway/devices/testing/fake-context.js';
import { GasDetectorConfig, gasDetectorDriver } from '../index.js';

/** A fast test config: 100 ms polls, 200 ms timeout, short backoff. */
export function gasConfig(
  transport: Partial<ModbusTransport> & { type: 'tcp' | 'rtu' },
  devices: { id: string; unitId: number }[],
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

export async function startDriver(
  config: GasDetectorConfig,
  onEmit?: (e: DeviceEvent) => void,
): Promise<{ driver: DriverInstance; ctx: RecordingContext }> {
  const ctx = fakeContext(onEmit);
  const driver = gasDetectorDriver.create(config, ctx);
  await driver.start();
  return { driver, ctx };
}
