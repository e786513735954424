/**
 * `gateway doctor`'s probe of every device: the site's drivers run in a short-lived driver host
 * (the real drivers, an in-memory database, nothing published, no alarm rules) for a while, and
 * each device is reported by its availability: online (it answered or pushed), offline (with the
 * host's reason), or not heard (a device that pushes on its own schedule may not have sent yet).
 * Polled devices are read as the gateway reads them, and a driver that acts on what it reads (a
 * streetlight controller put on its schedule) acts the same way.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { SiteConfig } from '../../config/schema.js';
import { DEFINITIONS } from '../../drivers/index.js';
import { localTimeZone } from '../core/clock.js';
import { createLogger } from '../core/logger.js';
import { createMetrics } from '../core/metrics.js';
import { FileStore } from '../devices/driver-files.js';
import { DriverHost } from '../devices/driver-host.js';
import { buildInventory } from '../devices/inventory.js';
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
    log: createLogger(process.env.DOCTOR_LOG ?? 'silent'),
    site: { ...cfg.site, timezone: cfg.site.timezone ?? localTimeZone() },
    hooks: { pollError: (deviceId, reason) => pollErrors.set(deviceId, reason) },
  });
  host.start();
  try {
    const deadline = Date.now() + waitMs;
    // Until every device has been reported online or offline, or the time is up.
    while (Date.now() < deadline && !ids.every((id) => availability.has(id))) await new Promise((r) => setTimeout(r, 100));
  } finally {
    await host.close();
    db.close();
    rmSync(filesDir, { recursive: true, force: true });
  }
  const check = t('device', '设备');
  const seconds = Math.round(waitMs / 1000);
  return drivers.flatMap((d) =>
    d.devices.map((dev): CheckResult => {
      const target = `${dev.id} (${d.family}, driver ${d.id})`;
      const a = availability.get(dev.id);
      if (a?.online) return { check, target, status: 'OK', detail: t('online: it answered', '在线：设备已应答') };
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
      return {
        check,
        target,
        status: 'WARN',
        detail: t(`not heard within ${seconds} s`, `${seconds} 秒内未收到`),
        fix: t(
          `a device that reports on its own (heartbeats, pushes) may not have sent yet: run doctor with a longer --wait, or watch gateway events --device ${dev.id} once the gateway runs; it reaches the gateway at ${whereOf(d, dev)}`,
          `主动上报的设备（心跳、推送）可能尚未发送：用更长的 --wait 再运行 doctor，或在网关运行后用 gateway events --device ${dev.id} 查看；它通过 ${whereOf(d, dev)} 接入网关`,
        ),
      };
    }),
  );
}
