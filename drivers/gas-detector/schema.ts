/** Config of one gas-detector driver instance: one Modbus bus and the detectors on it. */
import { z } from 'zod';
import { DeviceBase, DriverBase, PollConfig } from '../../gateway/devices/driver-api.js';
import { ModbusTransport } from '../modbus/modbus-transport.js';
import { GAS_MODELS, GasModel, gasModelOf } from './models.js';

export const GasDetectorDevice = z.strictObject({
  ...DeviceBase.shape,
  /** Modbus unit (slave) address: 1..247 (Modbus over Serial Line V1.02 §2.2). */
  unitId: z.number().int().min(1).max(247),
  /** A shipped model (drivers/gas-detector/models.ts) or one of the driver's `models:`. */
  model: z.string().min(1).default('generic-lel'),
});

/** A detector as the driver sees it: its model resolved to the register map (`map`). */
export type GasDetectorDevice = z.infer<typeof GasDetectorDevice> & { map: GasModel };

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
    /** Detector models of this site, in addition to the shipped ones (register-map format). */
    models: z.record(DeviceBase.shape.id, GasModel).default({}),
    devices: z.array(GasDetectorDevice),
  })
  .superRefine(
    (cfg, ctx) => {
      checkUnique(cfg.devices as unknown[], ctx);
      checkModels(cfg as { models?: unknown; devices: unknown[] }, ctx);
    },
    {
      // also when other keys are wrong, so that every problem is reported at once
      when: (payload) => Array.isArray((payload.value as { devices?: unknown } | undefined)?.devices),
    },
  )
  .transform((cfg) => ({
    ...cfg,
    devices: cfg.devices.map((d): GasDetectorDevice => ({ ...d, map: gasModelOf(cfg.models, d.model)! })),
  }));

export type GasDetectorConfig = z.output<typeof GasDetectorConfig>;

/** Each device names a known model; a site model does not take a shipped model's name. */
function checkModels(cfg: { models?: unknown; devices: unknown[] }, ctx: z.RefinementCtx): void {
  const site = (cfg.models && typeof cfg.models === 'object' ? cfg.models : {}) as Record<string, GasModel>;
  for (const name of Object.keys(site)) {
    if (Object.hasOwn(GAS_MODELS, name)) {
      ctx.addIssue({ code: 'custom', path: ['models', name], message: `"${name}" is a shipped model; give your model another name` });
    }
  }
  const known = [...new Set([...Object.keys(GAS_MODELS), ...Object.keys(site)])].join(', ');
  cfg.devices.forEach((entry, i) => {
    const { model } = (entry ?? {}) as { model?: unknown };
    if (typeof model === 'string' && !gasModelOf(site, model)) {
      ctx.addIssue({
        code: 'custom',
        path: ['devices', i, 'model'],
        message: `unknown model "${model}"; known models: ${known} (or describe it under models: of this driver)`,
      });
    }
  });
}

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
