/**
 * `gateway doctor`'s verdict on a device that pushes on its own schedule and was not heard within
 * the wait: a LoRaWAN detector sends a heartbeat every few minutes or hours, a bin station when
 * something changes. Silence within a short wait says nothing about such a device; the path it
 * reaches the gateway by does, and the doctor sees that path:
 *
 * - through a network server's broker (`mqtt:` of the driver): reachable when the driver's
 *   subscription there was accepted (the driver instance was running at the end of the wait);
 * - through the local broker with a `device` account (the network server's, a bin room's): reachable
 *   when a client of that account logged in to the local broker during the wait;
 * - anything else (a charge point that connects to a driver's listener, a device account that did not
 *   log in): not proven, a WARN.
 *
 * Reachable is OK, with what was seen and when the device reports; the device itself is proven only
 * by hearing from it.
 */
import type { SiteConfig } from '../../config/schema.js';
import { type CheckResult, t, type Text } from './doctor-result.js';

type Entry = SiteConfig['drivers'][number];
type Device = Entry['devices'][number];

/** What the doctor saw of the paths during the wait. */
export interface PathsSeen {
  /** State of each driver instance at the end of the wait (`running`: started and subscribed). */
  driverState: ReadonlyMap<string, { state: string; lastError?: string }>;
  /** Device accounts with a client logged in to the local broker during the wait. */
  loggedIn: ReadonlySet<string>;
  /** Why the local broker could not be started for the wait, if it could not. */
  brokerError?: string;
}

/**
 * The `device` accounts of the local broker a device may publish with: its own `account`, its
 * driver's (the network server's), or an account named as the device (a bin station's default).
 */
function accountsOf(cfg: SiteConfig, d: Entry, dev: Device): string[] {
  const named = [(dev as { account?: string }).account, (d as { account?: string }).account, dev.id];
  const devices = new Set(cfg.broker.accounts.filter((a) => a.role === 'device').map((a) => a.username));
  return [...new Set(named.filter((a): a is string => a !== undefined && devices.has(a)))];
}

const safe = (url: string) => url.replace(/\/\/[^@/]*@/, '//');

/** When the device reports by itself, from its entry (LoRaWAN `heartbeatIntervalS`). */
function schedule(dev: Device): Text {
  const s = (dev as { heartbeatIntervalS?: number }).heartbeatIntervalS;
  return s ? t(`it reports every ${s} s`, `每 ${s} 秒上报一次`) : t('it reports on its own schedule', '按自身周期上报');
}

/** The result for a push device not heard within `seconds`: OK when its path was seen up, else WARN. */
export function notHeard(cfg: SiteConfig, d: Entry, dev: Device, seconds: number, seen: PathsSeen, where: string): CheckResult {
  const check = t('device', '设备');
  const target = `${dev.id} (${d.family}, driver ${d.id})`;
  const when = schedule(dev);
  const ok = (en: string, zh: string): CheckResult => ({
    check,
    target,
    status: 'OK',
    detail: t(`reachable: ${en}; not heard within ${seconds} s, ${when.en}`, `可达：${zh}；${seconds} 秒内未收到，${when.zh}`),
  });
  const mqtt = (d as { mqtt?: { url: string } }).mqtt;
  const state = seen.driverState.get(d.id);
  if (mqtt && state?.state === 'running') {
    return ok(`subscribed at the network server's broker ${safe(mqtt.url)}`, `已在网络服务器的消息服务器 ${safe(mqtt.url)} 上订阅`);
  }
  const accounts = mqtt ? [] : accountsOf(cfg, d, dev);
  const up = accounts.find((a) => seen.loggedIn.has(a));
  if (up) return ok(`account ${up} logged in to the local broker`, `账号 ${up} 已登录本地消息服务器`);
  const why: Text = mqtt
    ? t(`driver ${d.id} not subscribed at ${safe(mqtt.url)}${state?.lastError ? ` (${state.lastError})` : ''}`, `驱动 ${d.id} 未能在 ${safe(mqtt.url)} 上订阅${state?.lastError ? `（${state.lastError}）` : ''}`)
    : seen.brokerError
      ? t(`the local broker could not start for the check (${seen.brokerError})`, `检查时本地消息服务器无法启动（${seen.brokerError}）`)
      : accounts.length
        ? t(`account ${accounts.join(' / ')} did not log in to the local broker`, `账号 ${accounts.join(' / ')} 未登录本地消息服务器`)
        : t('its path could not be seen', '无法确认其接入路径');
  return {
    check,
    target,
    status: 'WARN',
    detail: t(`not heard within ${seconds} s; ${why.en}`, `${seconds} 秒内未收到；${why.zh}`),
    fix: t(
      `a device that reports on its own (heartbeats, pushes) may not have sent yet: run doctor with a longer --wait, or watch gateway events --device ${dev.id} once the gateway runs; it reaches the gateway at ${where}`,
      `主动上报的设备（心跳、推送）可能尚未发送：用更长的 --wait 再运行 doctor，或在网关运行后用 gateway events --device ${dev.id} 查看；它通过 ${where} 接入网关`,
    ),
  };
}
