/**
 * Wiring of the uplink into a gateway: builds it from the site config, registers the outbox
 * on the journal's transaction hook (event and outbox row commit together), takes the
 * birth message's device list from the gateway's inventory, and applies the site's privacy
 * setting to the personal data keys the families declare.
 */
import type { Execute } from '../core/command-result.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import type { Inventory } from '../devices/inventory.js';
import type { Journal } from '../journal/journal.js';
import { VERSION } from '../core/version.js';
import { DEFINITIONS } from '../../drivers/index.js';
import type { AnyFamily } from '../devices/driver-api.js';
import { createRedactor, PrivacyConfig, readSalt } from './privacy.js';
import { Uplink } from './uplink.js';
import type { UplinkConfig } from './uplink-config.js';

export { Uplink } from './uplink.js';
export { UplinkConfig } from './uplink-config.js';
export { PrivacyConfig } from './privacy.js';

export interface GatewayUplinkDeps {
  config: { site: { id: string }; gateway: { id: string }; uplink?: UplinkConfig; privacy?: PrivacyConfig };
  root: string;
  journal: Journal;
  pipeline: Pipeline;
  inventory: Inventory;
  metrics: Metrics;
  log: Logger;
  execute: Execute;
  /** The registered families (their event specs name the personal data keys); default: the registry. */
  families?: readonly AnyFamily[];
}

/** Returns undefined when the site has no (enabled) uplink. Call `start()` once the gateway is ready. */
export function createGatewayUplink(d: GatewayUplinkDeps): Uplink | undefined {
  const cfg = d.config.uplink;
  if (!cfg?.enabled) return undefined;
  const devices = d.inventory.birthDevices();
  const privacy = d.config.privacy ?? PrivacyConfig.parse({});
  const salt = privacy.personalData === 'hashed' && privacy.saltFile ? readSalt(privacy.saltFile) : undefined;
  const redact = createRedactor(privacy, d.families ?? DEFINITIONS, salt);
  const uplink = new Uplink({
    config: cfg,
    site: d.config.site.id,
    gateway: d.config.gateway.id,
    root: d.root,
    version: VERSION,
    db: d.journal.db,
    ingest: (e) => d.pipeline.ingest(e),
    execute: d.execute,
    familyOf: (id) => d.inventory.familyOf(id),
    birthDevices: () => devices,
    redact,
    durable: d.journal,
    metrics: d.metrics,
    log: d.log.child({ component: 'uplink' }),
  });
  d.journal.addTxHook(uplink.txHook);
  return uplink;
}
