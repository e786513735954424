/** The streetlight family: lamp controllers (single-lamp or group) over Modbus RTU/TCP, schedules computed on the gateway. */
import type { FamilyDefinition } from '../../gateway/devices/driver-api.js';
import { LIGHT_COMMANDS, type LightCommands, StreetlightDriver } from './driver.js';
import { LIGHT_EVENTS } from './events.js';
import { LIGHT_RULES } from './rules.js';
import { sunScheduleProblems } from './schedule.js';
import { StreetlightConfig } from './schema.js';
import { LIGHT_MODELS } from './models.js';

export { LIGHT_COMMANDS } from './driver.js';
export { LIGHT_EVENTS } from './events.js';
export { LIGHT_MODELS, LightModel, lampsOf, lightModelOf } from './models.js';
export { LIGHT_RULES } from './rules.js';
export { desiredAt, type Desired, type Place, Schedule, transitions } from './schedule.js';
export { StreetlightConfig, StreetlightDevice } from './schema.js';

export const streetlight: FamilyDefinition<StreetlightConfig, LightCommands> = {
  family: 'streetlight',
  modbus: { models: LIGHT_MODELS, unitsKey: 'devices' },
  configSchema: StreetlightConfig,
  commands: LIGHT_COMMANDS,
  events: LIGHT_EVENTS,
  lifeSafety: false,
  rules: LIGHT_RULES,
  checkSite: sunScheduleProblems,
  create: (config, ctx) => new StreetlightDriver(config, ctx),
};
