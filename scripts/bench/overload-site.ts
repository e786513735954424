/**
 * The site of the overload section (overload.ts): the gas fleet in driver instances that are not
 * started (the bench emits their events), a FULL-sync journal and an uplink to a closed port.
 */
import { join } from 'node:path';
import { validateConfig } from '../../config/load.js';
import type { GasFleet } from './gas-load.js';
import { PER_DRIVER } from './overload-result.js';

export function overloadSite(fleet: GasFleet, dir: string, uplinkPort: number) {
  const refs = [...fleet.devices.values()];
  const drivers = [];
  for (let d = 0; d * PER_DRIVER < refs.length; d++) {
    drivers.push({
      family: 'gas-detector',
      id: `gas-line-${d + 1}`,
      enabled: false, // the inventory exists; events come from the bench, as a driver would emit them
      transport: { type: 'tcp', host: '127.0.0.1', port: 1 },
      devices: refs.slice(d * PER_DRIVER, (d + 1) * PER_DRIVER).map((r, i) => ({
        id: r.id,
        unitId: i + 1,
        building: r.building,
        zone: r.zone,
        tags: r.tags,
      })),
    });
  }
  const parsed = validateConfig({
    site: { id: 'bench-site' },
    gateway: { id: 'bench-gw' },
    demo: true, // the bench's subscribers read anonymously
    log: { level: 'warn' },
    broker: { listeners: [{ type: 'tcp', host: '127.0.0.1', port: 0 }] },
    journal: {
      path: join(dir, 'gw.db'),
      synchronous: 'FULL',
      retention: { maxAgeDays: 30, maxSizeMB: 64 * 1024 },
    },
    http: { host: '127.0.0.1', port: 0 },
    alarms: { builtinRules: false },
    // Nothing listens there: every event also stays in the outbox.
    uplink: { url: `mqtt://127.0.0.1:${uplinkPort}`, backoff: { initialMs: 60_000, maxMs: 60_000 } },
    drivers,
  });
  if (!parsed.ok) throw new Error(`bench config: ${JSON.stringify(parsed.problems.slice(0, 3))}`);
  return parsed.config;
}
