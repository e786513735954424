/**
 * Wiring of the uplink into a gateway: builds it from the site config, registers the outbox
 * on the journal's transaction hook (event and outbox row commit together), and lists the
 * inventory for the birth message from the driver registry.
 */
import type { SiteConfig } from '../../config/schema.js';
import { driverFor } from '../../drivers/index.js';
import type { Execute } from '../commands/commands.js';
import type { Birth } from '../core/contract-payloads.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import type { Pipeline } from '../core/pipeline.js';
import type { Journal } from '../journal/journal.js';
import { VERSION } from '../version.js';
import { Uplink } from './uplink.js';

export { Uplink } from './uplink.js';
export { UplinkConfig } from './uplink-config.js';

/** Event types the gateway itself emits (family `gateway`). */
export const GATEWAY_EVENT_TYPES = ['gateway.outbox.evicted'] as const;

export interface GatewayUplinkDeps {
  config: SiteConfig;
  root: string;
  journal: Journal;
  pipeline: Pipeline;
  metrics: Metrics;
  log: Logger;
  execute: Execute;
}

/** Returns undefined when the site has no (enabled) uplink. Call `start()` once the gateway is ready. */
export function createGatewayUplink(d: GatewayUplinkDeps): Uplink | undefined {
  const cfg = d.config.uplink;
  if (!cfg?.enabled) return undefined;
  const family = new Map<string, string>();
  const devices: Birth['devices'] = [
    {
      id: d.config.gateway.id,
      family: 'gateway',
      tags: [],
      commands: [],
      eventTypes: [...GATEWAY_EVENT_TYPES],
    },
  ];
  for (const drv of d.config.drivers) {
    const def = driverFor(drv.family);
    for (const dev of drv.devices) {
      family.set(dev.id, drv.family);
      devices.push({
        id: dev.id,
        family: drv.family,
        ...(dev.building ? { building: dev.building } : {}),
        ...(dev.zone ? { zone: dev.zone } : {}),
        tags: dev.tags,
        commands: drv.enabled && def ? Object.keys(def.commands) : [],
        eventTypes: def ? [...def.eventTypes] : [],
      });
    }
  }
  const uplink = new Uplink({
    config: cfg,
    site: d.config.site.id,
    gateway: d.config.gateway.id,
    root: d.root,
    version: VERSION,
    db: d.journal.db,
    ingest: (e) => d.pipeline.ingest(e),
    execute: d.execute,
    familyOf: (id) => family.get(id),
    birthDevices: () => devices,
    metrics: d.metrics,
    log: d.log.child({ component: 'uplink' }),
  });
  d.journal.addTxHook(uplink.txHook);
  return uplink;
}
