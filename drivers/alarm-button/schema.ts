/** Config of one alarm-button driver instance: the network server's events and the buttons. */
import { z } from 'zod';
import { checkLorawanConfig, LorawanDeviceFields, LorawanInstanceFields } from '../lorawan/index.js';
import { BUTTON_EVENTS } from './events.js';
import { BUTTON_MODELS, DEFAULT_BUTTON_MODEL } from './models.js';

export const AlarmButtonDevice = z.strictObject({
  ...LorawanDeviceFields,
  /** A shipped model (generic-sos-button) or one under the instance's `models:`. */
  model: z.string().default(DEFAULT_BUTTON_MODEL),
});
export type AlarmButtonDevice = z.infer<typeof AlarmButtonDevice>;

export const AlarmButtonConfig = z
  .strictObject({
    ...LorawanInstanceFields,
    family: z.literal('alarm-button'),
    devices: z.array(AlarmButtonDevice),
  })
  .superRefine((cfg, ctx) =>
    checkLorawanConfig(cfg, ctx, { name: 'alarm-button', models: BUTTON_MODELS, events: Object.keys(BUTTON_EVENTS) }),
  );
export type AlarmButtonConfig = z.infer<typeof AlarmButtonConfig>;
