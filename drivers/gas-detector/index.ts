/** The gas-detector family: Modbus RTU/TCP combustible-gas detectors with a valve relay. */
import type { FamilyDefinition } from '../../gateway/devices/driver-api.js';
import { GAS_COMMANDS, type GasCommands, GasDetectorDriver } from './driver.js';
import { GAS_EVENTS } from './events.js';
import { GAS_MODELS, type GasModel } from './models.js';
import { GAS_RULES } from './rules.js';
import { GasDetectorConfig } from './schema.js';

export { GAS_COMMANDS } from './driver.js';
export { GAS_EVENTS } from './events.js';
export { GAS_MODELS, GasModel, gasModelOf } from './models.js';
export { type GasState, type GasStatus, normalise } from './normalise.js';
export { GasDetectorConfig, GasDetectorDevice } from './schema.js';

export const gasDetector: FamilyDefinition<GasDetectorConfig, GasCommands> = {
  family: 'gas-detector',
  modbus: { models: GAS_MODELS, unitsKey: 'devices' },
  configSchema: GasDetectorConfig,
  commands: GAS_COMMANDS,
  // A detector without a valve relay has no valve to close or open.
  commandsFor: (device) => {
    // `map` is resolved by the config schema; an entry built without it names a shipped model.
    const model = (device as { map?: GasModel }).map ?? GAS_MODELS[device.model];
    return model?.coils.valve ? ['valve.close', 'valve.open'] : [];
  },
  events: GAS_EVENTS,
  lifeSafety: true,
  rules: GAS_RULES,
  create: (config, ctx) => new GasDetectorDriver(config, ctx),
};
