/** The ev-charger family: EV charging piles, the gateway as their OCPP 1.6J central system. */
import type { FamilyDefinition } from '../../gateway/devices/driver-api.js';
import { EV_COMMANDS } from './commands.js';
import { EvCharger } from './driver.js';
import { EV_EVENTS } from './events.js';
import { EV_RULES } from './rules.js';
import { EvChargerConfig, livenessOf } from './schema.js';

export { EvChargerConfig } from './schema.js';

export const evCharger: FamilyDefinition<EvChargerConfig, typeof EV_COMMANDS> = {
  family: 'ev-charger',
  configSchema: EvChargerConfig,
  commands: EV_COMMANDS,
  events: EV_EVENTS,
  lifeSafety: false,
  // The config derives each instance's timeout from its heartbeatIntervalS (2.5 × the interval
  // given in BootNotification.conf); this is that of the default interval, 60 s.
  livenessTimeoutMs: livenessOf(60),
  rules: EV_RULES,
  create(config, ctx) {
    const cs = new EvCharger(config, ctx);
    return { commands: cs.commands(), stop: () => cs.stop() };
  },
};
