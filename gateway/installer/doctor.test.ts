/**
 * `gateway doctor` (the real CLI) against a small compound: gas detectors and a DI/DO module
 * simulated over Modbus TCP, a city broker and a LoRaWAN network server's broker (mosquitto with
 * passwords). All good: no FAIL, exit 0. Then a simulator stopped, a wrong city password, a
 * missing serial port and a taken port: each a FAIL with its fix, exit 1.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../core/free-port.js';
import { startGasSimulatorTcp } from '../../simulators/gas-detector/index.js';
import { startIoSimulatorTcp } from '../../simulators/io-module/serve-tcp.js';
import { REPO_ROOT } from '../../scripts/structure.js';
import { tempDir, writeSiteConfig } from '../e2e/testing/harness.js';
import { type Mosquitto, startMosquitto } from '../uplink/testing/mosquitto.js';
import { formatReport, t } from './doctor-result.js';

const run = promisify(execFile);
const CLI = join(REPO_ROOT, 'gateway/cli.ts');
const TSX = join(REPO_ROOT, 'node_modules/.bin/tsx');
const MISSING_SERIAL = '/dev/ttyUSB-doctor-test-missing';

let dir: string;
let broker: Mosquitto;
let gas: Awaited<ReturnType<typeof startGasSimulatorTcp>>;
let io: Awaited<ReturnType<typeof startIoSimulatorTcp>>;

async function site(o: { cityPassword: string; serial?: boolean; httpPort?: number }): Promise<string> {
  const secret = join(dir, `city-${o.cityPassword}`);
  writeFileSync(secret, `${o.cityPassword}\n`);
  writeFileSync(join(dir, 'lns-password'), 'lns-pass\n');
  const d = mkdtempSync(join(dir, 'site-'));
  return writeSiteConfig(d, {
    site: { id: 'doctor-site' },
    gateway: { id: 'gw-01' },
    broker: { listeners: [{ type: 'tcp', host: '127.0.0.1', port: await freePort() }] },
    journal: { path: join(d, 'gw.db'), retention: { maxSizeMB: 64 } },
    files: { maxSizeMB: 16 },
    http: { host: '127.0.0.1', port: o.httpPort ?? (await freePort()) },
    uplink: { url: broker.url, username: 'gw-01', passwordFile: secret, outbox: { maxSizeMB: 16 } },
    drivers: [
      {
        family: 'gas-detector',
        id: 'gas-bus',
        transport: { type: 'tcp', host: '127.0.0.1', port: gas.port },
        pollIntervalMs: 300,
        timeoutMs: 300,
        devices: [
          { id: 'gas-1', unitId: 1, building: 'B1', zone: 'kitchen' },
          { id: 'gas-2', unitId: 2, building: 'B1', zone: 'boiler' },
        ],
      },
      {
        family: 'io-module',
        id: 'io-bus',
        transport: { type: 'tcp', host: '127.0.0.1', port: io.port },
        modules: [{ id: 'io-1', unitId: 1 }],
        inputs: [{ id: 'sos-1', module: 'io-1', input: 1, role: 'button', building: 'B1', zone: 'lobby' }],
      },
      {
        family: 'smoke-detector',
        id: 'lora-smoke',
        mqtt: { url: broker.url, username: 'chirpstack', passwordFile: join(dir, 'lns-password') },
        applicationId: '5b0d6a3e-1f7c-4c2a-9a51-0d6f3c2b7e11',
        devices: [{ id: 'smoke-1', devEui: '70b3d57ed0001001', building: 'B1', zone: 'hall' }],
      },
      ...(o.serial
        ? [{ family: 'gas-detector', id: 'gas-rtu', transport: { type: 'rtu', path: MISSING_SERIAL }, devices: [{ id: 'gas-9', unitId: 9 }] }]
        : []),
    ],
  });
}

async function doctor(file: string): Promise<{ code: number; out: string }> {
  try {
    const { stdout } = await run(TSX, [CLI, 'doctor', '--config', file, '--wait', '8s'], { cwd: REPO_ROOT });
    return { code: 0, out: stdout };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout + e.stderr };
  }
}

/** The lines of the report about a target (its row and its fix). */
const rowOf = (out: string, target: string) => {
  const lines = out.split('\n');
  const i = lines.findIndex((l) => l.includes(target));
  return i < 0 ? '' : `${lines[i]}\n${lines[i + 1]?.trimStart().startsWith('fix:') ? lines[i + 1] : ''}`;
};

beforeAll(async () => {
  dir = tempDir('cg-doctor-');
  broker = await startMosquitto({ dir, users: { 'gw-01': 'city-pass', chirpstack: 'lns-pass' }, persistence: false });
  gas = await startGasSimulatorTcp({ units: [1, 2] });
  io = await startIoSimulatorTcp({ modules: [1] });
});

afterAll(async () => {
  await gas?.close();
  await io?.close();
  await broker?.stop('SIGKILL');
});

describe('gateway doctor', () => {
  it('a good site: ports free, disk, city broker and network server reached, every polled device online; exit 0', async () => {
    const { code, out } = await doctor(await site({ cityPassword: 'city-pass' }));
    expect(out).not.toMatch(/^FAIL/m);
    expect(code, out).toBe(0);
    expect(rowOf(out, 'local broker (tcp)')).toMatch(/^OK +port/);
    expect(rowOf(out, 'ops server (http)')).toMatch(/^OK +port/);
    expect(rowOf(out, ' disk ')).toMatch(/^OK +disk/);
    expect(rowOf(out, broker.url)).toMatch(/^OK +city broker .*connected/);
    expect(out).toMatch(/^OK +broker of driver lora-smoke/m);
    for (const id of ['gas-1', 'gas-2', 'sos-1']) expect(rowOf(out, `${id} (`)).toMatch(/^OK +device .*online/);
    // The smoke detector pushes through the network server and sent nothing: its path is up (the
    // driver's subscription at the network server's broker), so it is reachable, not a warning.
    expect(rowOf(out, 'smoke-1 (')).toMatch(new RegExp(`^OK +device .*reachable: subscribed at the network server's broker ${broker.url}; not heard within 8 s`));
  }, 120_000);

  it('a stopped simulator, a wrong city password, a missing serial port, a taken port: each a FAIL with its fix; exit 1', async () => {
    await io.close();
    const holder: Server = createServer();
    await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r));
    const httpPort = (holder.address() as { port: number }).port;
    try {
      const { code, out } = await doctor(await site({ cityPassword: 'wrong-pass', serial: true, httpPort }));
      expect(code, out).toBe(1);
      expect(rowOf(out, 'ops server (http)')).toMatch(new RegExp(`^FAIL +port .*taken by .*pid ${process.pid}[\\s\\S]*fix: stop `));
      expect(rowOf(out, broker.url)).toMatch(/^FAIL +city broker .*UPLINK_AUTH[\s\S]*fix: .*uplink\.username and uplink\.password/);
      expect(rowOf(out, `${MISSING_SERIAL} driver gas-rtu`)).toMatch(/^FAIL +serial .*missing[\s\S]*fix: plug in the USB-RS485 adapter/);
      expect(rowOf(out, 'sos-1 (')).toMatch(/^FAIL +device .*(offline|no answer)[\s\S]*fix: .*TCP 127\.0\.0\.1:/);
      expect(rowOf(out, 'gas-1 (')).toMatch(/^OK +device/);
      expect(out).toMatch(/FAIL: fix each FAIL above/);
    } finally {
      holder.close();
    }
  }, 120_000);
});

describe('doctor report', () => {
  it('in zh-CN: headings, outcome and fix in Chinese, CJK columns aligned', () => {
    const text = formatReport(
      [
        { check: t('port', '端口'), target: '127.0.0.1:1883', status: 'OK', detail: t('free', '空闲') },
        { check: t('clock', '时钟'), target: 'NTP', status: 'FAIL', detail: t('not synchronised', '未同步'), fix: t('timedatectl set-ntp true', '执行 timedatectl set-ntp true') },
      ],
      'zh-CN',
    );
    const lines = text.split('\n');
    expect(lines[0]).toBe('状态  检查项  对象            结果');
    expect(lines[1]).toBe('OK    端口    127.0.0.1:1883  空闲');
    expect(lines[3]).toBe('      处理: 执行 timedatectl set-ntp true');
    expect(text).toContain('1 项正常，0 项警告，1 项失败');
  });
});
