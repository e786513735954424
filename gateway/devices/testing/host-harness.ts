/**
 * A real DriverHost for tests, with an in-memory database (or a file), recording what it
 * ingests, the availability changes, invalid data and poll failures. Set LOG_LEVEL=debug to see
 * driver logs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Clock } from '../../core/clock.js';
import type { DeviceEvent } from '../../core/envelope.js';
import { createLogger } from '../../core/logger.js';
import { createMetrics, type Metrics } from '../../core/metrics.js';
import type { AnyFamily, DriverConfig, SiteLocation } from '../driver-api.js';
import { FileStore } from '../driver-files.js';
import { DriverHost } from '../driver-host.js';
import { buildInventory, type Inventory } from '../inventory.js';

export interface HostHarness {
  host: DriverHost;
  inventory: Inventory;
  metrics: Metrics;
  db: Database.Database;
  /** Events ingested, availability changes excluded. */
  readonly events: DeviceEvent[];
  readonly availabilityLog: { deviceId: string; online: boolean; reason?: string }[];
  readonly invalids: { deviceId: string; reason: string; raw?: unknown }[];
  readonly pollErrors: { deviceId: string; reason: string }[];
  eventsOf(deviceId: string, type?: string): DeviceEvent[];
  /** Latest availability of a device (undefined: never reported). */
  online(deviceId: string): boolean | undefined;
  execute: DriverHost['execute'];
  /** Closes the host, then the database. */
  close(): Promise<void>;
}

export interface HostHarnessOptions {
  families: readonly AnyFamily[];
  drivers: readonly DriverConfig[];
  clock?: Clock;
  /** The site's id, location and time zone given to the drivers (default: id `site`, the machine's zone). */
  site?: SiteLocation;
  /** Runs as each event is ingested (e.g. to note simulator counters at that moment). */
  onEmit?: (e: DeviceEvent) => void;
  busy?: () => boolean;
  /** A database file (default: in memory). */
  dbPath?: string;
  /** Where driver files go (default: a temporary folder, removed by close()). */
  filesDir?: string;
  restartBackoff?: { initialMs: number; maxMs: number };
  random?: () => number;
  /** Start the host (default true). */
  start?: boolean;
}

export function startHost(o: HostHarnessOptions): HostHarness {
  const events: DeviceEvent[] = [];
  const availabilityLog: HostHarness['availabilityLog'] = [];
  const invalids: HostHarness['invalids'] = [];
  const pollErrors: HostHarness['pollErrors'] = [];
  const db = new Database(o.dbPath ?? ':memory:');
  const filesDir = o.filesDir ?? mkdtempSync(join(tmpdir(), 'cg-host-files-'));
  const files = new FileStore({ dir: filesDir, budgetBytes: 64 * 1024 * 1024 });
  const metrics = createMetrics();
  const inventory = buildInventory('gw-test', o.drivers, o.families);
  const host = new DriverHost({
    families: o.families,
    drivers: o.drivers,
    inventory,
    ingest(e) {
      if (e.type === 'device.availability') {
        const { online, reason } = e.data as { online: boolean; reason?: string };
        availabilityLog.push({ deviceId: e.deviceId, online, ...(reason !== undefined ? { reason } : {}) });
      } else events.push(e);
      o.onEmit?.(e);
    },
    busy: o.busy ?? (() => false),
    db,
    files,
    metrics,
    log: createLogger(process.env.LOG_LEVEL ?? 'silent'),
    clock: o.clock,
    site: o.site,
    hooks: {
      pollError: (deviceId, reason) => pollErrors.push({ deviceId, reason }),
      invalid: (deviceId, reason, raw) => invalids.push({ deviceId, reason, raw }),
    },
    restartBackoff: o.restartBackoff,
    random: o.random,
  });
  if (o.start ?? true) host.start();
  let closed = false;
  return {
    host,
    inventory,
    metrics,
    db,
    events,
    availabilityLog,
    invalids,
    pollErrors,
    eventsOf: (deviceId, type) => events.filter((e) => e.deviceId === deviceId && (!type || e.type === type)),
    online: (deviceId) => availabilityLog.filter((a) => a.deviceId === deviceId).at(-1)?.online,
    execute: host.execute,
    async close() {
      await host.close();
      if (!closed) db.close();
      if (!o.filesDir) rmSync(filesDir, { recursive: true, force: true });
      closed = true;
    },
  };
}
