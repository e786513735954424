/** Config of one gas-detector driver instance: one Modbus bus and the detectors on it. */
import { z } from 'zod';
import { DeviceBase, DriverBase, PollConfig } from '../../gateway/devices/driver-api.js';
import { ModbusTransport } from '../modbus/modbus-transport.js';
import { MODEL_NAMES } from './models.js';

export const GasDetectorDevice = z.strictObject({
  ...DeviceBase.shape,
  /** Modbus unit (slave) address: 1..247 (Modbus over Serial Line V1.02 §2.2). */
  unitId: z.number().int().min(1).max(247),
  model: z.enum(MODEL_NAMES).default('generic-lel'),
});
export type GasDetectorDevice = z.infer<typeof GasDetectorDevice>;

export const GasDetectorConfig = z
  .strictObject({
    ...DriverBase.shape,
    family: z.literal('gas-detector'),
    transport: ModbusTransport,
    /** pollIntervalMs, offlineAfterFailures, backoff (also the bus reconnect delays): the host's poll schedule. */
    ...PollConfig,
    /** Response timeout of one request. */
    timeoutMs: z.number().int().min(20).max(30_000).default(500),
    /** A `gas.reading` is sent at least this often even when nothing changed. */
    reportIntervalMs: z.number().int().min(1000).default(60_000),
    /** A level change larger than this (%LEL) since the last report is reported at once. */
    lelDeadband: z.number().min(0).max(100).default(1),
    devices: z.array(GasDetectorDevice),
  })
  .superRefine((cfg, ctx) => checkUnique(cfg.devices as unknown[], ctx), {
    // also when other keys are wrong, so that every problem is reported at once
    when: (payload) => Array.isArray((payload.value as { devices?: unknown } | undefined)?.devices),
  });

export type GasDetectorConfig = z.infer<typeof GasDetectorConfig>;

/** Device ids and unit ids are unique on one bus. Entries may be unvalidated here: only well-typed keys are compared. */
function checkUnique(devices: unknown[], ctx: z.RefinementCtx): void {
  const ids = new Map<string, number>();
  const units = new Map<number, number>();
  devices.forEach((entry, i) => {
    const { id, unitId } = (entry ?? {}) as { id?: unknown; unitId?: unknown };
    if (typeof id === 'string') {
      const first = ids.get(id);
      if (first === undefined) ids.set(id, i);
      else {
        ctx.addIssue({
          code: 'custom',
          path: ['devices', i, 'id'],
          message: `device id "${id}" is already used by devices[${first}]; give each detector its own id`,
        });
      }
    }
    if (typeof unitId === 'number') {
      const first = units.get(unitId);
      if (first === undefined) units.set(unitId, i);
      else {
        ctx.addIssue({
          code: 'custom',
          path: ['devices', i, 'unitId'],
          message: `unit id ${unitId} is already used by devices[${first}] on this bus; every detector on one bus needs its own unit id`,
        });
      }
    }
  });
}
