/**
 * The io-module family: generic Modbus DI/DO modules (8DI/8DO boards) with emergency buttons,
 * door contacts and sirens wired to them. Life-safety: emergency buttons and sirens are alarm
 * points, so a module that goes silent is an alarm of its own (`life-safety-offline`).
 */
import type { FamilyDefinition } from '../../gateway/devices/driver-api.js';
import { IO_COMMANDS, type IoCommands, IoModuleDriver } from './driver.js';
import { IO_EVENTS } from './events.js';
import { IO_RULES } from './rules.js';
import { IoModuleConfig } from './schema.js';
import { MODELS } from './models.js';

export { IO_COMMANDS } from './driver.js';
export { IO_EVENTS } from './events.js';
export { inputsOf, IoModel, ioModelOf, MODELS, outputsOf } from './models.js';
export { IO_RULES } from './rules.js';
export { type IoDevice, IoInput, IoModule, IoModuleConfig, IoOutput, modelOf } from './schema.js';

const OUTPUT_COMMANDS = ['output.on', 'output.off', 'output.pulse'] as const;

export const ioModule: FamilyDefinition<IoModuleConfig, IoCommands> = {
  family: 'io-module',
  modbus: { models: MODELS, unitsKey: 'modules' },
  configSchema: IoModuleConfig,
  commands: IO_COMMANDS,
  commandsFor: (d) => {
    if (!('output' in d)) return [];
    return d.role === 'siren' ? [...OUTPUT_COMMANDS, 'siren.on', 'siren.off'] : OUTPUT_COMMANDS;
  },
  events: IO_EVENTS,
  lifeSafety: true,
  rules: IO_RULES,
  create: (config, ctx) => new IoModuleDriver(config, ctx),
};
