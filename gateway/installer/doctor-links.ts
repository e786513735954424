/**
 * `gateway doctor`'s checks of the brokers the gateway connects to: the city broker of the uplink
 * (with its TLS files and credentials) and the external brokers of drivers (e.g. a LoRaWAN
 * network server's), each by a real MQTT connection with a short timeout, closed at once.
 */
import { readFileSync } from 'node:fs';
import mqtt, { type IClientOptions } from 'mqtt';
import type { SiteConfig } from '../../config/schema.js';
import { errorMessage } from '../core/errors.js';
import { type ConnectFailure, classifyConnectError } from '../uplink/connect-errors.js';
import { type CheckResult, t } from './doctor-result.js';

/** The Chinese of the uplink's connection hints, by code (the English is the uplink's own). */
const ZH_HINTS: Partial<Record<ConnectFailure['code'], string>> = {
  UPLINK_AUTH: '服务器拒绝了账号或密码：检查 uplink.username、uplink.password / uplink.passwordFile 以及服务器上的账号',
  UPLINK_UNREACHABLE: '无法连接服务器：检查地址、端口、网络和防火墙',
  UPLINK_TLS: 'TLS 握手失败：检查 tls.caFile 是否为签发服务器证书的 CA、服务器名称（tls.servername）以及本机时钟',
  UPLINK_FILE: '无法读取 uplink 中的文件（tls.caFile、certFile、keyFile、passwordFile）：检查路径和权限',
  UPLINK_PROTOCOL: '服务器不接受此 MQTT 版本：把 uplink.protocol 设为 auto、5 或 3.1.1',
  UPLINK_CLIENT_ID: '服务器拒绝此客户端 ID：设置 uplink.clientId',
  UPLINK_REFUSED: '服务器拒绝了连接：联系平台方确认接入许可',
};

const safe = (url: string) => url.replace(/\/\/[^@/]*@/, '//');

/** Connects once; resolves undefined when the broker accepted the connection, else why it failed. */
export function mqttProbe(url: string, options: IClientOptions, timeoutMs: number): Promise<ConnectFailure | undefined> {
  const version = options.protocolVersion === 5 ? 5 : 4;
  return new Promise((resolve) => {
    let settled = false;
    const client = mqtt.connect(url, { ...options, reconnectPeriod: 0, connectTimeout: timeoutMs });
    const finish = (f: ConnectFailure | undefined) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      client.end(true);
      resolve(f);
    };
    const timer = setTimeout(
      () => finish({ reason: 'unreachable', code: 'UPLINK_UNREACHABLE', detail: `no answer within ${timeoutMs} ms`, hint: 'check the address, the port and the firewall' }),
      timeoutMs,
    );
    client.once('connect', () => finish(undefined));
    client.once('error', (err) => finish(classifyConnectError(err, version)));
    client.once('close', () => finish({ reason: 'unreachable', code: 'UPLINK_UNREACHABLE', detail: 'connection closed before CONNACK', hint: 'check the address and the port' }));
  });
}

function fileOptions(files: Record<string, string | undefined>): Record<string, Buffer | undefined> {
  return Object.fromEntries(Object.entries(files).map(([k, f]) => [k, f ? readFileSync(f) : undefined]));
}

function resultOf(check: CheckResult['check'], target: string, failure: ConnectFailure | undefined): CheckResult {
  if (!failure) return { check, target, status: 'OK', detail: t('connected (MQTT CONNACK)', '已连接（MQTT CONNACK）') };
  return {
    check,
    target,
    status: 'FAIL',
    detail: t(`${failure.code}: ${failure.detail}`, `${failure.code}：${failure.detail}`),
    fix: t(failure.hint, ZH_HINTS[failure.code] ?? failure.hint),
  };
}

/** The city broker, as the uplink connects to it (client id `<its id>-doctor`, so a running gateway is not thrown off). */
export async function checkCityBroker(cfg: SiteConfig, timeoutMs: number): Promise<CheckResult[]> {
  const u = cfg.uplink;
  const check = t('city broker', '市级平台');
  if (!u?.enabled) return [];
  const target = safe(u.url);
  let options: IClientOptions;
  try {
    const password = u.passwordFile ? readFileSync(u.passwordFile, 'utf8').replace(/\r?\n$/, '') : u.password;
    const tls = u.tls;
    options = {
      protocolVersion: u.protocol === '3.1.1' ? 4 : 5,
      clientId: `${u.clientId ?? `${cfg.site.id}-${cfg.gateway.id}`}-doctor`,
      username: u.username,
      password,
      clean: true,
      ...(tls
        ? { ...fileOptions({ ca: tls.caFile, cert: tls.certFile, key: tls.keyFile }), servername: tls.servername, rejectUnauthorized: !tls.insecureSkipVerify }
        : {}),
    };
  } catch (err) {
    return [resultOf(check, target, classifyConnectError(err, 5))];
  }
  let failure = await mqttProbe(u.url, options, timeoutMs);
  // `auto`: a broker that refuses MQTT 5 is asked again with 3.1.1, as the uplink does.
  if (failure?.reason === 'protocol' && u.protocol === 'auto') failure = await mqttProbe(u.url, { ...options, protocolVersion: 4 }, timeoutMs);
  return [resultOf(check, target, failure)];
}

/** Drivers whose devices publish to another broker (`mqtt:` of the driver, e.g. a LoRaWAN network server's). */
export async function checkDriverBrokers(cfg: SiteConfig, timeoutMs: number): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  for (const d of cfg.drivers) {
    const m = (d as { mqtt?: { url: string; username?: string; passwordFile?: string; clientId?: string } }).mqtt;
    if (!d.enabled || !m) continue;
    const check = t(`broker of driver ${d.id}`, `驱动 ${d.id} 的消息服务器`);
    let password: string | undefined;
    try {
      password = m.passwordFile ? readFileSync(m.passwordFile, 'utf8').split(/\r?\n/)[0] : undefined;
    } catch (err) {
      out.push({
        check,
        target: safe(m.url),
        status: 'FAIL',
        detail: t(`cannot read mqtt.passwordFile: ${errorMessage(err)}`, `无法读取 mqtt.passwordFile：${errorMessage(err)}`),
        fix: t('check the path, and that the file is readable by the service user (0640 root:compound-gw)', '检查路径，并确认服务用户可读（0640 root:compound-gw）'),
      });
      continue;
    }
    const failure = await mqttProbe(m.url, { protocolVersion: 4, clientId: `${m.clientId ?? d.id}-doctor`, username: m.username, password, clean: true }, timeoutMs);
    out.push(resultOf(check, safe(m.url), failure));
  }
  return out;
}
