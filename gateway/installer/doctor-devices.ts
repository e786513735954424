/**
 * `gateway doctor`'s probe of every device: the site's drivers run in a short-lived driver host
 * (the real drivers, an in-memory database, nothing published, no alarm rules) beside the local
 * broker (its listeners and accounts, as the gateway runs it, so devices and network servers that
 * publish into it can log in) for a while, and each device is reported by its availability:
 * online (it answered or pushed), offline (with the host's reason), or not heard (a device that
 * pushes on its own schedule may not have sent yet: judged by its path, doctor-reach.ts).
 * Polled devices are read as the gateway reads them, and a driver that acts on what it reads (a
 * streetlight controller put on its schedule) acts the same way.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { SiteConfig } from '../../config/schema.js';
import { DEFINITIONS } from '../../drivers/index.js';
import { type RunningBroker, startBroker } from '../broker/broker.js';
import { CLIENT_ID_SEPARATOR } from '../broker/client-ids.js';
import { localTimeZone } from '../core/clock.js';
import { errorMessage } from '../core/errors.js';
import { createLogger } from '../core/logger.js';
import { createMetrics } from '../core/metrics.js';
import { FileStore } from '../devices/driver-files.js';
import { DriverHost } from '../devices/driver-host.js';
import { buildInventory } from '../devices/inventory.js';
import { notHeard, type PathsSeen } from './doctor-reach.js';
import { type CheckResult, t } from './doctor-result.js';

type Entry = SiteConfig['drivers'][number];

/** Where a device is reached, for the fix of one that did not answer: its own address, else its driver's. */
function whereOf(d: Entry, dev: Entry['devices'][number]): string {
  const own = dev as { url?: string; host?: string; port?: number };
  if (own.url) return own.url.replace(/\/\/[^@/]*@/, '//');
  if (own.host) return `${own.host}${own.port ? `:${own.port}` : ''}`;
  const x = d as { transport?: { type: string; host?: string; port?: number; path?: string }; listen?: { host: string; port: number }; mqtt?: { url: string } };
  if (x.transport) return x.transport.type === 'rtu' ? `RTU ${x.transport.path}` : `TCP ${x.transport.host}:${x.transport.port}`;
  if (x.listen) return `listener ${x.listen.host}:${x.listen.port}`;
  if (x.mqtt) return x.mqtt.url.replace(/\/\/[^@/]*@/, '//');
  return 'the local broker';
}

export async function checkDevices(cfg: SiteConfig, waitMs: number): Promise<CheckResult[]> {
  const drivers = cfg.drivers.filter((d) => d.enabled);
  const ids = drivers.flatMap((d) => d.devices.map((dev) => dev.id));
  if (ids.length === 0) return [];
  const availability = new Map<string, { online: boolean; reason?: string }>();
  const pollErrors = new Map<string, string>();
  const db = new Database(':memory:');
  const filesDir = mkdtempSync(join(tmpdir(), 'cg-doctor-files-'));
  const log = createLogger(process.env.DOCTOR_LOG ?? 'silent');
  const host = new DriverHost({
    families: DEFINITIONS,
    drivers,
    inventory: buildInventory(cfg.gateway.id, drivers, DEFINITIONS),
    ingest(e) {
      if (e.type !== 'device.availability') return;
      const { online, reason } = e.data as { online: boolean; reason?: string };
      availability.set(e.deviceId, { online, ...(reason ? { reason } : {}) });
    },
    busy: () => false,
    db,
    files: new FileStore({ dir: filesDir, budgetBytes: 16 * 1024 * 1024 }),
    metrics: createMetrics(),
    log,
    site: { ...cfg.site, timezone: cfg.site.timezone ?? localTimeZone() },
    hooks: { pollError: (deviceId, reason) => pollErrors.set(deviceId, reason) },
  });
  // A device account's client ids are in its namespace (`bin-room-b2`, `chirpstack:sim-1`): the part before the separator is the account.
  const loggedIn = new Set<string>();
  let broker: RunningBroker | undefined;
  let brokerError: string | undefined;
  try {
    broker = await startBroker(cfg.broker, { demo: cfg.demo, log, onDevicePublish: host.onDevicePublish });
    broker.aedes.on('clientReady', (c) => loggedIn.add(c.id.split(CLIENT_ID_SEPARATOR)[0]!));
  } catch (err) {
    brokerError = errorMessage(err);
  }
  host.start();
  let driverState: PathsSeen['driverState'] = new Map();
  try {
    const deadline = Date.now() + waitMs;
    // Until every device has been reported online or offline, or the time is up.
    while (Date.now() < deadline && !ids.every((id) => availability.has(id))) await new Promise((r) => setTimeout(r, 100));
    driverState = new Map(host.status().map((s) => [s.id, s]));
  } finally {
    await host.close();
    await broker?.close();
    db.close();
    rmSync(filesDir, { recursive: true, force: true });
  }
  const check = t('device', '设备');
  const seconds = Math.round(waitMs / 1000);
  return drivers.flatMap((d) =>
    d.devices.map((dev): CheckResult => {
      const target = `${dev.id} (${d.family}, driver ${d.id})`;
      const a = availability.get(dev.id);
      if (a?.online) return { check, target, status: 'OK', detail: t('online: heard from it', '在线：已收到设备数据') };
      if (a) {
        const why = pollErrors.get(dev.id) ?? a.reason ?? 'no answer';
        return {
          check,
          target,
          status: 'FAIL',
          detail: t(`offline: ${why}`, `离线：${why}`),
          fix: t(
            `check that ${dev.id} is powered and wired, and reached at ${whereOf(d, dev)} with the address in the site file (Modbus: gateway discover modbus finds the unit ids on a bus)`,
            `检查 ${dev.id} 的供电和接线，并确认它在 ${whereOf(d, dev)} 上、地址与站点文件一致（Modbus：用 gateway discover modbus 查找总线上的从站地址）`,
          ),
        };
      }
      const why = pollErrors.get(dev.id);
      if (why || 'transport' in d) {
        return {
          check,
          target,
          status: why ? 'FAIL' : 'WARN',
          detail: why ? t(`no answer: ${why}`, `无应答：${why}`) : t(`not read within ${seconds} s`, `${seconds} 秒内未读到`),
          fix: t(
            `run doctor again with a longer --wait (the bus is read one device after the other); check ${dev.id} at ${whereOf(d, dev)}`,
            `用更长的 --wait 再次运行 doctor（总线上的设备逐个读取）；检查 ${whereOf(d, dev)} 上的 ${dev.id}`,
          ),
        };
      }
      return notHeard(cfg, d, dev, seconds, { driverState, loggedIn, ...(brokerError ? { brokerError } : {}) }, whereOf(d, dev));
    }),
  );
}
