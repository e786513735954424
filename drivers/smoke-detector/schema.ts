/** Config of one smoke-detector driver instance: the network server's events and the detectors. */
import { z } from 'zod';
import { checkLorawanConfig, LorawanDeviceFields, LorawanInstanceFields } from '../lorawan/index.js';
import { SMOKE_EVENTS } from './events.js';
import { DEFAULT_SMOKE_MODEL, SMOKE_MODELS } from './models.js';

export const SmokeDetectorDevice = z.strictObject({
  ...LorawanDeviceFields,
  /** A shipped model (generic-smoke) or one under the instance's `models:`. */
  model: z.string().default(DEFAULT_SMOKE_MODEL),
});
export type SmokeDetectorDevice = z.infer<typeof SmokeDetectorDevice>;

export const SmokeDetectorConfig = z
  .strictObject({
    ...LorawanInstanceFields,
    family: z.literal('smoke-detector'),
    devices: z.array(SmokeDetectorDevice),
  })
  .superRefine((cfg, ctx) =>
    checkLorawanConfig(cfg, ctx, { name: 'smoke-detector', models: SMOKE_MODELS, events: Object.keys(SMOKE_EVENTS) }),
  );
export type SmokeDetectorConfig = z.infer<typeof SmokeDetectorConfig>;
