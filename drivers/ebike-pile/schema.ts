/** Config of one ebike-pile driver instance: one Modbus bus and the charging piles on it. */
import { z } from 'zod';
import { DeviceBase, DriverBase, PollConfig } from '../../gateway/devices/driver-api.js';
import { ModbusTransport } from '../modbus/modbus-transport.js';
import { EBIKE_MODELS, EbikeModel, ebikeModelOf } from './models.js';

export const FAULT_KINDS = ['overcurrent', 'overtemperature', 'fault'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];
/** Fault codes of the shipped model; a site adds or overrides codes under `faultCodes:`. */
export const DEFAULT_FAULT_CODES: Readonly<Record<string, FaultKind>> = { 1: 'overcurrent', 2: 'overtemperature', 3: 'fault' };

export const EbikePileDevice = z.strictObject({
  ...DeviceBase.shape,
  /** Modbus unit (slave) address: 1..247 (Modbus over Serial Line V1.02 §2.2). */
  unitId: z.number().int().min(1).max(247),
  /** A shipped model (drivers/ebike-pile/models.ts) or one of the driver's `models:`. */
  model: z.string().min(1).default('generic-10port'),
});
/** A pile as the driver sees it: its model resolved to the register map (`map`). */
export type EbikePileDevice = z.infer<typeof EbikePileDevice> & { map: EbikeModel };

export const EbikePileConfig = z
  .strictObject({
    ...DriverBase.shape,
    family: z.literal('ebike-pile'),
    transport: ModbusTransport,
    ...PollConfig,
    /** Response timeout of one request. */
    timeoutMs: z.number().int().min(20).max(30_000).default(500),
    /** A `pile.port.reading` of a port is sent at least this often even when nothing changed. */
    reportIntervalMs: z.number().int().min(1000).default(60_000),
    /** A port at or above this temperature is overheating, whatever its fault code says. */
    overtemperatureC: z.number().min(20).max(150).default(70),
    /** Fault code (raw register value) → what it means; merged over the shipped codes 1, 2, 3. */
    faultCodes: z.record(z.string().regex(/^\d+$/, 'a fault code: a non-negative integer'), z.enum(FAULT_KINDS)).default({}),
    /** Pile models of this site, in addition to the shipped ones (register-map format, see models.ts). */
    models: z.record(DeviceBase.shape.id, EbikeModel).default({}),
    devices: z.array(EbikePileDevice),
  })
  .superRefine((cfg, ctx) => {
    for (const name of Object.keys(cfg.models)) {
      if (Object.hasOwn(EBIKE_MODELS, name)) {
        ctx.addIssue({ code: 'custom', path: ['models', name], message: `"${name}" is a shipped model; give your model another name` });
      }
    }
    const known = [...new Set([...Object.keys(EBIKE_MODELS), ...Object.keys(cfg.models)])].join(', ');
    const ids = new Map<string, number>();
    const units = new Map<number, number>();
    cfg.devices.forEach((d, i) => {
      if (!ebikeModelOf(cfg.models, d.model)) {
        ctx.addIssue({ code: 'custom', path: ['devices', i, 'model'], message: `unknown model "${d.model}"; known models: ${known} (or describe it under models: of this driver)` });
      }
      if (ids.has(d.id)) ctx.addIssue({ code: 'custom', path: ['devices', i, 'id'], message: `device id "${d.id}" is already used by devices[${ids.get(d.id)}]; give each pile its own id` });
      if (units.has(d.unitId)) ctx.addIssue({ code: 'custom', path: ['devices', i, 'unitId'], message: `unit id ${d.unitId} is already used by devices[${units.get(d.unitId)}] on this bus; every pile on one bus needs its own unit id` });
      ids.set(d.id, i);
      units.set(d.unitId, i);
    });
  })
  .transform((cfg) => ({
    ...cfg,
    faultCodes: { ...DEFAULT_FAULT_CODES, ...cfg.faultCodes },
    devices: cfg.devices.map((d): EbikePileDevice => ({ ...d, map: ebikeModelOf(cfg.models, d.model)! })),
  }));
export type EbikePileConfig = z.output<typeof EbikePileConfig>;
