/** The access-gate family: ISAPI face-recognition access terminals (event push, AcsEvent search, door control). */
import type { FamilyDefinition } from '../../gateway/devices/driver-api.js';
import { AccessGateDriver, GATE_COMMANDS, type GateCommands } from './driver.js';
import { GATE_EVENTS } from './events.js';
import { GATE_RULES } from './rules.js';
import { AccessGateConfig } from './schema.js';

export { GATE_COMMANDS, PUSH_PATH, PUSH_REALM } from './driver.js';
export { EVENT_CODES, EventCode } from './event-codes.js';
export { GATE_EVENTS } from './events.js';
export { normalise } from './normalise.js';
export { AccessGateConfig, AccessGateDevice } from './schema.js';

export const accessGate: FamilyDefinition<AccessGateConfig, GateCommands> = {
  family: 'access-gate',
  configSchema: AccessGateConfig,
  commands: GATE_COMMANDS,
  events: GATE_EVENTS,
  // Doors, not detectors: an offline gate is no life-safety alarm.
  lifeSafety: false,
  // Terminals heartbeat and the gateway checks them every 30 s: three missed checks and it is offline.
  livenessTimeoutMs: 90_000,
  rules: GATE_RULES,
  create: (config, ctx) => new AccessGateDriver(config, ctx),
};
