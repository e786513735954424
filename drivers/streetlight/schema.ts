/** Config of one streetlight driver instance: one Modbus bus, its controllers, and the lighting schedules of their groups. */
import { z } from 'zod';
import { DeviceBase, DriverBase, PollConfig } from '../../gateway/devices/driver-api.js';
import { ModbusTransport } from '../modbus/modbus-transport.js';
import { LIGHT_MODELS, LightModel, lightModelOf } from './models.js';
import { Schedule } from './schedule.js';

export const StreetlightDevice = z.strictObject({
  ...DeviceBase.shape,
  /** Modbus unit (slave) address: 1..247 (Modbus over Serial Line V1.02 §2.2). */
  unitId: z.number().int().min(1).max(247),
  /** A shipped model (drivers/streetlight/models.ts) or one of the driver's `models:`. */
  model: z.string().min(1).default('single-lamp'),
  /** The lighting group whose schedule (under `schedules:`) drives this controller; none: switched by commands only. */
  group: DeviceBase.shape.id.optional(),
});
/** A controller as the driver sees it: its model resolved to the register map (`map`). */
export type StreetlightDevice = z.infer<typeof StreetlightDevice> & { map: LightModel };

export const StreetlightConfig = z
  .strictObject({
    ...DriverBase.shape,
    family: z.literal('streetlight'),
    transport: ModbusTransport,
    ...PollConfig,
    pollIntervalMs: z.number().int().min(100).default(5000),
    /** Response timeout of one request. */
    timeoutMs: z.number().int().min(20).max(30_000).default(500),
    /** A `light.reading` of a lamp is sent at least this often even when nothing changed. */
    reportIntervalMs: z.number().int().min(1000).default(300_000),
    /** Where the lamps are, for sun times; default: the site's `latitude` / `longitude`. */
    latitude: z.number().min(-90).max(90).optional(),
    longitude: z.number().min(-180).max(180).optional(),
    /** Lighting schedule per group (see schedule.ts): `on`, `off`, `level`, `steps`. */
    schedules: z.record(DeviceBase.shape.id, Schedule).default({}),
    /** Controller fault code (raw register value) → what it means, shown in the alarm. */
    faultCodes: z.record(z.string().regex(/^\d+$/, 'a fault code: a non-negative integer'), z.string().min(1)).default({}),
    /** Controller models of this site, in addition to the shipped ones (register-map format, see models.ts). */
    models: z.record(DeviceBase.shape.id, LightModel).default({}),
    devices: z.array(StreetlightDevice),
  })
  .superRefine((cfg, ctx) => {
    const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
    if ((cfg.latitude === undefined) !== (cfg.longitude === undefined)) {
      issue([cfg.latitude === undefined ? 'latitude' : 'longitude'], 'give both latitude and longitude, or neither (the site\'s are used)');
    }
    for (const name of Object.keys(cfg.models)) {
      if (Object.hasOwn(LIGHT_MODELS, name)) issue(['models', name], `"${name}" is a shipped model; give your model another name`);
    }
    const known = [...new Set([...Object.keys(LIGHT_MODELS), ...Object.keys(cfg.models)])].join(', ');
    const groups = Object.keys(cfg.schedules);
    const ids = new Map<string, number>();
    const units = new Map<number, number>();
    cfg.devices.forEach((d, i) => {
      if (!lightModelOf(cfg.models, d.model)) issue(['devices', i, 'model'], `unknown model "${d.model}"; known models: ${known} (or describe it under models: of this driver)`);
      if (d.group !== undefined && !Object.hasOwn(cfg.schedules, d.group)) {
        issue(['devices', i, 'group'], `no schedule for group "${d.group}"; groups under schedules: ${groups.join(', ') || '(none)'}`);
      }
      if (ids.has(d.id)) issue(['devices', i, 'id'], `device id "${d.id}" is already used by devices[${ids.get(d.id)}]; give each controller its own id`);
      if (units.has(d.unitId)) issue(['devices', i, 'unitId'], `unit id ${d.unitId} is already used by devices[${units.get(d.unitId)}] on this bus; every controller on one bus needs its own unit id`);
      ids.set(d.id, i);
      units.set(d.unitId, i);
    });
  })
  .transform((cfg) => ({
    ...cfg,
    devices: cfg.devices.map((d): StreetlightDevice => ({ ...d, map: lightModelOf(cfg.models, d.model)! })),
  }));
export type StreetlightConfig = z.output<typeof StreetlightConfig>;
