/** The smart-bin family: waste-sorting bin stations publishing status and drops on the embedded broker. */
import type { FamilyDefinition } from '../../gateway/devices/driver-api.js';
import { SmartBinDriver } from './driver.js';
import { BIN_EVENTS } from './events.js';
import { BINS_CLI } from './report.js';
import { BIN_RULES } from './rules.js';
import { SmartBinConfig } from './schema.js';

export { BIN_EVENTS, BIN_SEVERITY } from './events.js';
export { type DropRecord, dropKey, dropsSince } from './drops.js';
export { DropMessage, MAX_MESSAGE_BYTES, StatusMessage } from './messages.js';
export { BINS_CLI, buildingSummary, householdSummary } from './report.js';
export { BIN_RULES } from './rules.js';
export { CATEGORIES, SmartBinConfig, SmartBinStation } from './schema.js';

export const smartBin: FamilyDefinition<SmartBinConfig> = {
  family: 'smart-bin',
  configSchema: SmartBinConfig,
  commands: {},
  events: BIN_EVENTS,
  // Smoke and overheating are reported, but a bin station is not a fire detector of the building.
  lifeSafety: false,
  // Stations send a status every 5 minutes: three missed and the station is offline.
  livenessTimeoutMs: 15 * 60_000,
  rules: BIN_RULES,
  create: (config, ctx) => new SmartBinDriver(config, ctx),
  cli: BINS_CLI,
};
