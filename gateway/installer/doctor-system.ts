/**
 * `gateway doctor`'s checks of the machine: the ports the gateway listens on, the serial devices
 * it opens (and whether the service user may write them), the clock, and the disk against the
 * journal, outbox and file budgets.
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync, statfsSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, resolve } from 'node:path';
import type { SiteConfig } from '../../config/schema.js';
import { errorMessage } from '../core/errors.js';
import { portHolder } from '../demo/ports.js';
import { type CheckResult, t } from './doctor-result.js';

const PORT = t('port', '端口');
const SERIAL = t('serial', '串口');

/** Every address the gateway listens on: broker listeners, ops server, drivers' `listen:`. */
export function listenersOf(cfg: SiteConfig): { host: string; port: number; what: string }[] {
  const out = cfg.broker.listeners.map((l) => ({ host: l.host, port: l.port, what: `local broker (${l.type})` }));
  out.push({ host: cfg.http.host, port: cfg.http.port, what: 'ops server (http)' });
  for (const d of cfg.drivers) {
    const listen = (d as { listen?: { host: string; port: number } }).listen;
    if (d.enabled && listen) out.push({ host: listen.host, port: listen.port, what: `driver ${d.id}` });
  }
  return out.filter((l) => l.port !== 0);
}

function tryListen(host: string, port: number): Promise<NodeJS.ErrnoException | undefined> {
  return new Promise((done) => {
    const srv = createServer();
    srv.once('error', (err: NodeJS.ErrnoException) => done(err));
    srv.listen({ host, port, exclusive: true }, () => srv.close(() => done(undefined)));
  });
}

export async function checkPorts(cfg: SiteConfig): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  for (const l of listenersOf(cfg)) {
    const target = `${l.host}:${l.port} ${l.what}`;
    const err = await tryListen(l.host, l.port);
    if (!err) out.push({ check: PORT, target, status: 'OK', detail: t('free', '空闲') });
    else if (err.code === 'EADDRINUSE') {
      const holder = portHolder(l.port);
      out.push({
        check: PORT,
        target,
        status: 'FAIL',
        detail: t(`taken by ${holder}`, `已被占用：${holder}`),
        fix: t(
          `stop ${holder} (if it is the gateway itself: systemctl stop compound-gateway before running doctor), or give ${l.what} another port in the site file`,
          `停止 ${holder}（若是网关本身：先 systemctl stop compound-gateway 再运行 doctor），或在站点文件中为 ${l.what} 改用其他端口`,
        ),
      });
    } else if (err.code === 'EACCES') {
      out.push({
        check: PORT,
        target,
        status: 'FAIL',
        detail: t(`not allowed to listen (${err.code})`, `无权监听（${err.code}）`),
        fix: t(
          'a port below 1024 needs CAP_NET_BIND_SERVICE: reinstall with scripts/install/install.sh --low-ports, or use a port from 1024',
          '1024 以下端口需要 CAP_NET_BIND_SERVICE：用 scripts/install/install.sh --low-ports 重新安装，或改用 1024 以上端口',
        ),
      });
    } else {
      out.push({
        check: PORT,
        target,
        status: 'FAIL',
        detail: t(`cannot listen: ${errorMessage(err)}`, `无法监听：${errorMessage(err)}`),
        fix: t(`check that ${l.host} is an address of this machine (ip addr)`, `确认 ${l.host} 是本机地址（ip addr）`),
      });
    }
  }
  return out;
}

/** The serial devices the site opens: RTU buses and SMS modems. */
export function serialPortsOf(cfg: SiteConfig): { path: string; what: string }[] {
  const out: { path: string; what: string }[] = [];
  for (const d of cfg.drivers) {
    const tr = (d as { transport?: { type: string; path?: string } }).transport;
    if (d.enabled && tr?.type === 'rtu' && tr.path) out.push({ path: tr.path, what: `driver ${d.id}` });
  }
  for (const c of cfg.notify.channels) {
    const ch = c as { type: string; id: string; enabled?: boolean; port?: string };
    if (ch.type === 'sms' && ch.enabled !== false && ch.port) out.push({ path: ch.port, what: `SMS channel ${ch.id}` });
  }
  return out;
}

/** uid and group ids of a user from /etc/passwd and /etc/group, or undefined when there is no such user. */
function userIds(user: string, etc = '/etc'): { uid: number; gids: Set<number> } | undefined {
  const read = (f: string) => (existsSync(`${etc}/${f}`) ? readFileSync(`${etc}/${f}`, 'utf8').split('\n') : []);
  const pw = read('passwd').find((l) => l.startsWith(`${user}:`))?.split(':');
  if (!pw) return undefined;
  const gids = new Set([Number(pw[3])]);
  for (const g of read('group').map((l) => l.split(':'))) if (g[3]?.split(',').includes(user)) gids.add(Number(g[2]));
  return { uid: Number(pw[2]), gids };
}

export function checkSerial(cfg: SiteConfig, user: string): CheckResult[] {
  const ids = userIds(user);
  return serialPortsOf(cfg).map(({ path, what }): CheckResult => {
    const target = `${path} ${what}`;
    if (!existsSync(path)) {
      return {
        check: SERIAL,
        target,
        status: 'FAIL',
        detail: t('missing', '不存在'),
        fix: t(
          `plug in the USB-RS485 adapter and find its name (ls -l /dev/serial/by-id/, dmesg | tail); put that path (best: the /dev/serial/by-id/ one, stable across reboots) in the site file`,
          `插上 USB-RS485 转换器并查看设备名（ls -l /dev/serial/by-id/，dmesg | tail）；把该路径（最好用 /dev/serial/by-id/ 下的固定名称）写入站点文件`,
        ),
      };
    }
    const s = statSync(path);
    const writable = ids
      ? (s.uid === ids.uid && (s.mode & 0o200) !== 0) || (ids.gids.has(s.gid) && (s.mode & 0o020) !== 0) || (s.mode & 0o002) !== 0
      : (() => {
          try {
            accessSync(path, constants.R_OK | constants.W_OK);
            return true;
          } catch {
            return false;
          }
        })();
    const who = ids ? `user ${user}` : 'this user';
    if (!writable) {
      return {
        check: SERIAL,
        target,
        status: 'FAIL',
        detail: t(`present, not writable by ${who}`, `存在，但 ${ids ? `用户 ${user}` : '当前用户'} 无写权限`),
        fix: t(
          `add ${user} to the device's group (usermod -aG $(stat -c %G ${path}) ${user}), then restart the service`,
          `把 ${user} 加入设备所属组（usermod -aG $(stat -c %G ${path}) ${user}），然后重启服务`,
        ),
      };
    }
    if (!ids) {
      return {
        check: SERIAL,
        target,
        status: 'WARN',
        detail: t(`present; service user ${user} does not exist, checked for this user`, `存在；服务用户 ${user} 不存在，已按当前用户检查`),
        fix: t('install the service (scripts/install/install.sh) to create the user', '安装服务（scripts/install/install.sh）以创建该用户'),
      };
    }
    return { check: SERIAL, target, status: 'OK', detail: t(`present, writable by ${who}`, `存在，用户 ${user} 可读写`) };
  });
}

export function checkClock(timedatectl = 'timedatectl'): CheckResult {
  const check = t('clock', '时钟');
  let answer: string;
  try {
    answer = execFileSync(timedatectl, ['show', '-p', 'NTPSynchronized', '--value'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 }).trim();
  } catch {
    return {
      check,
      target: 'NTP',
      status: 'WARN',
      detail: t('unknown (timedatectl cannot tell here)', '未知（此处 timedatectl 无法查询）'),
      fix: t('make sure the machine keeps its clock by NTP (chrony or systemd-timesyncd): event times and TLS need it', '确认本机通过 NTP 校时（chrony 或 systemd-timesyncd）：事件时间和 TLS 都依赖准确时钟'),
    };
  }
  if (answer === 'yes') return { check, target: 'NTP', status: 'OK', detail: t('synchronised', '已同步') };
  return {
    check,
    target: 'NTP',
    status: 'FAIL',
    detail: t('not synchronised', '未同步'),
    fix: t(
      'timedatectl set-ntp true, and check the NTP server is reachable (timedatectl timesync-status); a clock that is off stamps events wrong and breaks TLS',
      '执行 timedatectl set-ntp true，并确认能访问 NTP 服务器（timedatectl timesync-status）；时钟不准会导致事件时间错误和 TLS 失败',
    ),
  };
}

const MB = 1024 * 1024;

/** Free space where the journal lives against the budgets: journal, uplink outbox, driver files. */
export function checkDisk(cfg: SiteConfig): CheckResult {
  const check = t('disk', '磁盘');
  const db = resolve(cfg.journal.path);
  let dir = dirname(db);
  while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
  const outbox = cfg.uplink?.enabled ? cfg.uplink.outbox.maxSizeMB : 0;
  const budget = cfg.journal.retention.maxSizeMB + outbox + cfg.files.maxSizeMB;
  const used = ['', '-wal'].reduce((n, s) => n + (existsSync(db + s) ? statSync(db + s).size : 0), 0) / MB;
  const fs = statfsSync(dir);
  const free = (fs.bavail * fs.bsize) / MB;
  const parts = `journal ${cfg.journal.retention.maxSizeMB} MB${outbox ? ` + outbox ${outbox} MB` : ''} + files ${cfg.files.maxSizeMB} MB`;
  const detail = t(`${Math.floor(free)} MB free in ${dir}, budgets ${parts}`, `${dir} 可用 ${Math.floor(free)} MB，预算：${parts}`);
  if (free + used >= budget) return { check, target: dir, status: 'OK', detail };
  return {
    check,
    target: dir,
    status: 'FAIL',
    detail,
    fix: t(
      `free ${Math.ceil(budget - used - free)} MB, or lower journal.retention.maxSizeMB, uplink.outbox.maxSizeMB or files.maxSizeMB in the site file`,
      `请再腾出 ${Math.ceil(budget - used - free)} MB，或在站点文件中调低 journal.retention.maxSizeMB、uplink.outbox.maxSizeMB 或 files.maxSizeMB`,
    ),
  };
}
