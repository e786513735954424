/** The ebike-pile family: multi-port e-bike charging piles over Modbus RTU/TCP, a relay per port. */
import type { FamilyDefinition } from '../../gateway/devices/driver-api.js';
import { EBIKE_COMMANDS, type EbikeCommands, EbikePileDriver } from './driver.js';
import { EBIKE_EVENTS } from './events.js';
import { EBIKE_RULES } from './rules.js';
import { EbikePileConfig } from './schema.js';
import { EBIKE_MODELS } from './models.js';

export { EBIKE_COMMANDS } from './driver.js';
export { EBIKE_EVENTS } from './events.js';
export { EBIKE_MODELS, EbikeModel, ebikeModelOf, portsOf } from './models.js';
export { EBIKE_RULES } from './rules.js';
export { EbikePileConfig, EbikePileDevice } from './schema.js';

export const ebikePile: FamilyDefinition<EbikePileConfig, EbikeCommands> = {
  family: 'ebike-pile',
  modbus: { models: EBIKE_MODELS, unitsKey: 'devices' },
  configSchema: EbikePileConfig,
  commands: EBIKE_COMMANDS,
  events: EBIKE_EVENTS,
  lifeSafety: false,
  rules: EBIKE_RULES,
  create: (config, ctx) => new EbikePileDriver(config, ctx),
};
