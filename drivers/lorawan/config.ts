/**
 * Config fields shared by the LoRaWAN families, and the checks of one instance against its
 * family's models and events (so `gateway check-config` reports a bad model, a codec file that
 * does not load or a mapping to an unknown event with its path).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { DeviceBase, DriverBase, ExternalBrokerConfig } from '../../gateway/devices/driver-api.js';
import { DevEui } from './chirpstack.js';
import { Codec } from './codec-runner.js';
import { LorawanModel, META_SOURCES, ModelName } from './model.js';

/** Fields of one LoRaWAN device entry; the family adds `model` with its default. */
export const LorawanDeviceFields = {
  ...DeviceBase.shape,
  devEui: DevEui,
  /** Overrides the model's heartbeat interval (seconds) for this device. */
  heartbeatIntervalS: z.number().int().min(10).max(7 * 24 * 3600).optional(),
};

/** Fields of one LoRaWAN driver instance; the family adds `family` and `devices`. */
export const LorawanInstanceFields = {
  ...DriverBase.shape,
  /**
   * The network server's own broker. Without it the network server publishes into the embedded
   * broker as a `device` account whose `publish` list is `["application/#"]`.
   */
  mqtt: ExternalBrokerConfig.mqtt.optional(),
  /** Embedded broker only: the account the network server publishes as; publishes of others are refused. */
  account: z.string().min(1).optional(),
  /** The ChirpStack application (UUID) whose devices this instance serves; default every application. */
  applicationId: z
    .string()
    .regex(/^[^/+#]+$/, 'an application id, without "/", "+" or "#"')
    .default('+'),
  /** Heartbeats missed in a row before a device is reported offline. */
  missedHeartbeats: z.number().int().min(1).max(20).default(3),
  /** Time limit of one codec run. */
  codecTimeoutMs: z.number().int().min(5).max(1000).default(50),
  /** The site's own device models, by name, beside the family's. */
  models: z.record(ModelName, LorawanModel).default({}),
};

interface CheckedConfig {
  mqtt?: unknown;
  account?: string;
  codecTimeoutMs: number;
  models: Record<string, LorawanModel>;
  devices: { id: string; devEui: string; model: string }[];
}

/** superRefine of a LoRaWAN instance: models known, codecs load, mappings name the family's events, ids unique. */
export function checkLorawanConfig(
  cfg: CheckedConfig,
  ctx: z.RefinementCtx,
  family: { name: string; models: Readonly<Record<string, LorawanModel>>; events: readonly string[] },
): void {
  if (cfg.mqtt !== undefined && cfg.account !== undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['account'],
      message: 'account names the embedded broker account of the network server; with mqtt: remove it',
    });
  }
  for (const [name, model] of Object.entries(cfg.models)) {
    try {
      Codec.fromFile(model.codec, { timeoutMs: cfg.codecTimeoutMs });
    } catch (err) {
      ctx.addIssue({ code: 'custom', path: ['models', name, 'codec'], message: (err as Error).message });
    }
    model.events.forEach((row, i) => {
      if (!family.events.includes(row.event)) {
        ctx.addIssue({
          code: 'custom',
          path: ['models', name, 'events', i, 'event'],
          message: `a ${family.name} emits no "${row.event}"; its events: ${family.events.join(', ')}`,
        });
      }
      for (const [key, source] of Object.entries(row.data)) {
        if (source.startsWith('$') && !META_SOURCES.includes(source)) {
          ctx.addIssue({
            code: 'custom',
            path: ['models', name, 'events', i, 'data', key],
            message: `unknown uplink field ${source}; use ${META_SOURCES.join(', ')} or a path in the codec's data`,
          });
        }
      }
    });
  }
  const known = [...new Set([...Object.keys(family.models), ...Object.keys(cfg.models)])];
  const ids = new Map<string, number>();
  const euis = new Map<string, number>();
  cfg.devices.forEach((d, i) => {
    if (!known.includes(d.model)) {
      ctx.addIssue({
        code: 'custom',
        path: ['devices', i, 'model'],
        message: `unknown model "${d.model}"; models: ${known.join(', ')} (add one under models:)`,
      });
    }
    for (const [seen, key, what] of [
      [ids, d.id, 'device id'],
      [euis, d.devEui, 'DevEUI'],
    ] as const) {
      const first = seen.get(key);
      if (first === undefined) seen.set(key, i);
      else {
        ctx.addIssue({
          code: 'custom',
          path: ['devices', i, what === 'DevEUI' ? 'devEui' : 'id'],
          message: `${what} ${key} is already used by devices[${first}]; each device needs its own`,
        });
      }
    }
  });
}

/**
 * The path of a codec file a family ships in its `codecs/` folder: next to the module when run
 * from source, in the package's `drivers/<folder>/codecs/` when run from `dist/`.
 */
export function shippedCodec(moduleUrl: string, folder: string, file: string): string {
  const here = fileURLToPath(new URL(`./codecs/${file}`, moduleUrl));
  if (existsSync(here)) return here;
  const source = fileURLToPath(new URL(`../../../drivers/${folder}/codecs/${file}`, moduleUrl));
  return existsSync(source) ? source : here;
}
