/** The smoke-detector family: LoRaWAN smoke detectors behind a ChirpStack v4 network server. */
import type { FamilyDefinition } from '../../gateway/devices/driver-api.js';
import { LorawanDriver } from '../lorawan/index.js';
import { SMOKE_EVENTS, SMOKE_SEVERITY } from './events.js';
import { SMOKE_MODELS } from './models.js';
import { SMOKE_RULES } from './rules.js';
import { SmokeDetectorConfig } from './schema.js';

export { SMOKE_EVENTS, SMOKE_SEVERITY } from './events.js';
export { DEFAULT_SMOKE_MODEL, SMOKE_MODELS } from './models.js';
export { SMOKE_RULES } from './rules.js';
export { SmokeDetectorConfig, SmokeDetectorDevice } from './schema.js';

export const smokeDetector: FamilyDefinition<SmokeDetectorConfig> = {
  family: 'smoke-detector',
  configSchema: SmokeDetectorConfig,
  commands: {},
  events: SMOKE_EVENTS,
  lifeSafety: true,
  // No livenessTimeoutMs: each detector goes offline after missedHeartbeats × its model's
  // heartbeat interval (per device, see drivers/lorawan/heartbeats.ts).
  rules: SMOKE_RULES,
  create: (config, ctx) =>
    new LorawanDriver(config, ctx, {
      models: SMOKE_MODELS,
      events: SMOKE_EVENTS,
      severity: SMOKE_SEVERITY,
      heartbeatEvent: 'device.heartbeat',
    }),
};
