/** The alarm-button family: LoRaWAN emergency (SOS) buttons behind a ChirpStack v4 network server. */
import type { FamilyDefinition } from '../../gateway/devices/driver-api.js';
import { LorawanDriver } from '../lorawan/index.js';
import { BUTTON_EVENTS, BUTTON_SEVERITY } from './events.js';
import { BUTTON_MODELS } from './models.js';
import { BUTTON_RULES } from './rules.js';
import { AlarmButtonConfig } from './schema.js';

export { BUTTON_EVENTS, BUTTON_SEVERITY } from './events.js';
export { BUTTON_MODELS, DEFAULT_BUTTON_MODEL } from './models.js';
export { BUTTON_RULES } from './rules.js';
export { AlarmButtonConfig, AlarmButtonDevice } from './schema.js';

export const alarmButton: FamilyDefinition<AlarmButtonConfig> = {
  family: 'alarm-button',
  configSchema: AlarmButtonConfig,
  commands: {},
  events: BUTTON_EVENTS,
  lifeSafety: true,
  // No livenessTimeoutMs: each button goes offline after missedHeartbeats × its model's
  // heartbeat interval (per device, see drivers/lorawan/heartbeats.ts).
  rules: BUTTON_RULES,
  create: (config, ctx) =>
    new LorawanDriver(config, ctx, {
      models: BUTTON_MODELS,
      events: BUTTON_EVENTS,
      severity: BUTTON_SEVERITY,
      heartbeatEvent: 'device.heartbeat',
    }),
};
