/** The gas-detector driver module: Modbus RTU/TCP combustible-gas detectors with a valve relay. */
import type { DriverDefinition } from '../../gateway/devices/driver-api.js';
import { GAS_COMMANDS, GasDetectorDriver } from './driver.js';
import { GAS_EVENT_TYPES } from './normalise.js';
import { GasDetectorConfig } from './schema.js';

export { GasRegisterMap, MODEL_NAMES, MODELS } from './models.js';
export { GAS_EVENT_TYPES, type GasState, type GasStatus, normalise } from './normalise.js';
export { GasDetectorConfig, GasDetectorDevice } from './schema.js';

export const gasDetectorDriver: DriverDefinition<GasDetectorConfig> = {
  family: 'gas-detector',
  configSchema: GasDetectorConfig,
  commands: GAS_COMMANDS,
  eventTypes: GAS_EVENT_TYPES,
  create: (config, ctx) => new GasDetectorDriver(config, ctx),
};
