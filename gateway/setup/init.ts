/**
 * `gateway init`: writes a first site file, commented in English and Chinese (installers and
 * duty staff in China read it), with a console admin and a reader whose passwords are stored as
 * scrypt hashes (as `gateway hash-password` makes them). Values come from flags; on a terminal,
 * what is missing is asked. The file written passes `gateway check-config`.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline/promises';
import { Writable } from 'node:stream';
import { parseConfigText } from '../../config/load.js';
import { hashPassword } from '../auth/password.js';
import { GatewayError } from '../core/errors.js';

export interface InitAnswers {
  siteId: string;
  name?: string;
  latitude?: number;
  longitude?: number;
  timezone?: string;
  cityBroker?: string;
  gatewayId: string;
  journal: string;
  admin: { username: string; password: string };
  reader: { username: string; password: string };
}

const usage = (message: string) => new GatewayError('USAGE', message, 'run `gateway --help`');
const q = (s: string) => JSON.stringify(s);

/** The text of the site file; `hash` is replaceable for tests (the real one is slow on purpose). */
export function siteFileText(a: InitAnswers, hash: (plain: string) => string = hashPassword, now = new Date()): string {
  const coords = a.latitude !== undefined && a.longitude !== undefined;
  return `# Site file of the compound gateway, written by \`gateway init\` on ${now.toISOString().slice(0, 10)}.
# 小区边缘网关的站点配置文件，由 \`gateway init\` 生成。
#   check / 检查:  gateway check-config <this file>
#   run / 运行:    gateway start --config <this file>
#   every key / 全部配置项: docs/schemas/config.schema.json

# The site. Its id becomes an MQTT topic level (lower-case letters, digits, "-"). Latitude,
# longitude and time zone drive schedules at sunset/sunrise and at local hours (streetlights).
# 站点：id 用作 MQTT 主题层级（小写字母、数字、"-"）；经纬度和时区用于路灯的日出日落与本地时间排程。
site:
  id: ${a.siteId}
${a.name ? `  name: ${q(a.name)}\n` : ''}${coords ? `  latitude: ${a.latitude}\n  longitude: ${a.longitude}\n` : ''}${a.timezone ? `  timezone: ${a.timezone}\n` : ''}
# This gateway (one site may have several). 本网关（一个站点可有多台网关）。
gateway: { id: ${a.gatewayId} }

# The local MQTT broker. Accounts: admin may do everything (commands too); reader only watches
# (the duty console logs in with it). Passwords are stored only as hashes: make a new one with
# \`gateway hash-password\`. A device account publishes under dev/<username>/.
# 本地 MQTT 服务器。admin 账号可做一切（包括下发命令）；reader 账号只读（值班台用它登录）。
# 只保存密码的哈希值：新密码用 \`gateway hash-password\` 生成。设备账号只能发布到 dev/<用户名>/ 下。
broker:
  listeners:
    - { type: tcp, host: 127.0.0.1, port: 1883 }
  accounts:
    - { username: ${a.admin.username}, role: admin, passwordHash: ${q(hash(a.admin.password))} }
    - { username: ${a.reader.username}, role: reader, passwordHash: ${q(hash(a.reader.password))} }

# The database of events, alarms and the uplink outbox. FULL survives a power cut.
# Back it up with \`gateway backup\` (docs/OPERATIONS.md).
# 事件、告警和上行缓存数据库。FULL 模式断电不丢数据。用 \`gateway backup\` 备份。
journal: { path: ${q(a.journal)}, synchronous: FULL, retention: { maxAgeDays: 30, maxSizeMB: 2048 } }

# Ops server: /healthz, /metrics and the duty console (/alarms/console). On an address other
# than 127.0.0.1 every page but /healthz asks for a broker account above.
# 运维与值班台 HTTP 服务。监听非本机地址时，除 /healthz 外都需用上面的账号登录。
http: { host: 127.0.0.1, port: 8080 }

# Store-and-forward uplink to the city platform (MQTT over TLS). Put the password in a file
# readable only by the gateway, not here.
# 上行到城市平台（MQTT over TLS），断网时缓存、恢复后补传。密码放在单独文件中，不要写在这里。
${a.cityBroker ? 'uplink:' : '# uplink:'}
${a.cityBroker ? '' : '# '}  url: ${a.cityBroker ?? 'mqtts://city-platform.example:8883'}
#   username: ${a.siteId}-${a.gatewayId}
#   passwordFile: /etc/compound/uplink.password

# Device drivers: one entry per bus or driver instance, its devices under it. Import a device
# list with \`gateway import devices.csv --into <this file>\`; each family's README shows its keys.
# 设备驱动：每条总线/每个驱动实例一项，设备列在其下。可用 \`gateway import devices.csv --into <本文件>\` 导入设备清单。
drivers: []
`;
}

export interface InitFlags {
  'site-id'?: string;
  name?: string;
  lat?: string;
  lon?: string;
  timezone?: string;
  'city-broker'?: string;
  'gateway-id'?: string;
  journal?: string;
  'admin-user'?: string;
  'reader-user'?: string;
  out?: string;
  force?: boolean;
}

/**
 * Gathers the answers: flags first; on a terminal, prompts for what is missing (passwords
 * hidden); otherwise passwords are read from stdin, one a line (admin, then reader).
 */
export async function initSite(flags: InitFlags, io = { stdin: process.stdin, stdout: process.stdout }): Promise<string> {
  const out = flags.out ?? 'site.yaml';
  if (existsSync(out) && !flags.force) throw usage(`${out} exists: give another --out or --force to replace it`);
  const tty = io.stdin.isTTY === true;
  let muted = false;
  // What readline echoes, dropped while a password is typed. Written at once (never queued), so
  // whether it shows is decided when it is written.
  const output = new Writable({
    write: (chunk: Buffer, _enc, done) => {
      if (!muted) io.stdout.write(chunk);
      done();
    },
  });
  const rl = createInterface({ input: io.stdin, output, terminal: tty });
  const lines = tty ? undefined : rl[Symbol.asyncIterator]();
  const ask = async (question: string, fallback?: string, secret = false): Promise<string> => {
    if (!tty) {
      const next = secret ? await lines!.next() : undefined;
      if (next && !next.done && next.value) return next.value;
      if (fallback !== undefined) return fallback;
      throw usage(secret ? `${question}: give the passwords on stdin, one a line (admin, then reader)` : `missing ${question}`);
    }
    const prompt = `${question}${fallback ? ` [${fallback}]` : ''}: `;
    // A hidden answer: the prompt is written, then everything readline echoes is dropped.
    if (secret) io.stdout.write(prompt);
    muted = secret;
    const answer = (await rl.question(secret ? '' : prompt)).trim();
    muted = false;
    if (secret) io.stdout.write('\n');
    if (answer) return answer;
    return fallback ?? (await ask(question, fallback, secret)); // a required answer is asked again
  };
  try {
    const num = (flag: string, v: string | undefined) => {
      if (v === undefined || v === '') return undefined;
      const n = Number(v);
      if (!Number.isFinite(n)) throw usage(`${flag} must be a number, got "${v}"`);
      return n;
    };
    const siteId = flags['site-id'] ?? (await ask('--site-id (site id: lower-case letters, digits, "-" / 站点编号)'));
    const name = flags.name ?? (tty ? await ask('--name (site name / 站点名称)', '') : undefined);
    const latitude = num('--lat', flags.lat ?? (tty ? await ask('--lat (latitude / 纬度, e.g. 31.23)', '') : undefined));
    const longitude = num('--lon', flags.lon ?? (tty ? await ask('--lon (longitude / 经度, e.g. 121.47)', '') : undefined));
    const timezone = flags.timezone ?? (tty ? await ask('--timezone (IANA time zone / 时区)', 'Asia/Shanghai') : undefined);
    const cityBroker = flags['city-broker'] ?? (tty ? await ask('--city-broker (mqtts://host:8883, empty for none / 城市平台地址)', '') : undefined);
    const adminUser = flags['admin-user'] ?? 'ops';
    const readerUser = flags['reader-user'] ?? 'console';
    const admin = { username: adminUser, password: await ask(`password of the admin account "${adminUser}" / 管理员密码`, undefined, true) };
    const reader = { username: readerUser, password: await ask(`password of the reader account "${readerUser}" / 只读账号密码`, undefined, true) };
    if ((latitude === undefined) !== (longitude === undefined)) throw usage('give both --lat and --lon, or neither');
    const text = siteFileText({
      siteId,
      name: name || undefined,
      latitude,
      longitude,
      timezone: timezone || undefined,
      cityBroker: cityBroker || undefined,
      gatewayId: flags['gateway-id'] ?? 'gw-01',
      journal: flags.journal ?? '/var/lib/compound-gateway/gateway.db',
      admin,
      reader,
    });
    parseConfigText(out, text); // the answers make a valid file, or every problem is listed (ConfigError)
    writeFileSync(out, text, { mode: 0o640 });
    return out;
  } finally {
    rl.close();
  }
}
