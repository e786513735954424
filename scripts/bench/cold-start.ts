/**
 * Section `cold-start`: `gateway start` on a generated 20,000-device site file, from the spawn
 * of the process to the first event on its local bus. The first driver instance polls a Modbus
 * TCP gas simulator on 127.0.0.1 (the first poll of a detector yields its first reading); the other
 * 99 instances are complete but not started. A subscriber in this process connects to the
 * gateway's broker as soon as it listens (retrying every 20 ms) and notes the first event.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import mqtt from 'mqtt';
import { freePort } from '../../gateway/core/free-port.js';
import { startGasSimulatorTcp } from '../../simulators/gas-detector/serve-tcp.js';
import { SITE_DEVICES, siteDevices, siteYaml } from './cold-start-site.js';
import { procRss, ROOT } from './peer.js';
import { fmt, now, sleep } from './stats.js';
import type { BenchOptions, SectionResult } from './types.js';

const REPO = resolve(import.meta.dirname, '../..');
const BUDGET_MS = 3_000;

interface StartRun {
  readyMs: number;
  firstEventMs: number;
  rssMB: number;
}

/** One cold start: spawn `gateway start`, wait for the first event on the bus, stop it. */
async function coldStart(config: string, brokerPort: number, timeoutMs: number): Promise<StartRun> {
  const t0 = now();
  const proc = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'gateway/cli.ts'), 'start', '--config', config], {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  let readyMs = Number.NaN;
  proc.stdout.on('data', (c: Buffer) => {
    if (Number.isNaN(readyMs) && c.toString().includes('gateway ready')) readyMs = now() - t0;
  });
  const client = mqtt.connect(`mqtt://127.0.0.1:${brokerPort}`, { reconnectPeriod: 20, connectTimeout: 1_000, clientId: `bench-cold-${process.pid}` });
  client.on('error', () => undefined); // refused until the gateway listens: retried
  client.on('connect', () => client.subscribe(`${ROOT}/events/#`, { qos: 1 }));
  try {
    const first = await new Promise<number>((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`no event on the bus within ${timeoutMs / 1000} s of the gateway's start`)), timeoutMs);
      client.once('message', () => {
        clearTimeout(timer);
        res(now() - t0);
      });
      proc.once('exit', (code) => {
        clearTimeout(timer);
        rej(new Error(`gateway start exited with code ${code} before its first event (its stderr is above)`));
      });
    });
    return { readyMs, firstEventMs: first, rssMB: procRss(proc.pid!)?.peakMB ?? Number.NaN };
  } finally {
    await new Promise<void>((r) => client.end(true, {}, () => r()));
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.exitCode === null && proc.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }
}

/** Process start and module load alone: spawn to exit of `gateway version` (cli.ts imports the whole gateway). */
async function loadOnly(): Promise<number> {
  const t0 = now();
  const proc = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'gateway/cli.ts'), 'version'], { cwd: REPO, stdio: 'ignore' });
  await new Promise<void>((r) => proc.once('exit', () => r()));
  return now() - t0;
}

export async function benchColdStart(opts: BenchOptions): Promise<SectionResult> {
  const runs = opts.quick ? 1 : 5;
  const dir = mkdtempSync(join(tmpdir(), 'cg-bench-cold-'));
  const sim = await startGasSimulatorTcp({ units: Array.from({ length: 200 }, (_, i) => i + 1) });
  try {
    const devices = siteDevices(SITE_DEVICES);
    const results: StartRun[] = [];
    for (let i = 0; i < runs; i++) {
      const brokerPort = await freePort();
      const config = join(dir, `site-${i}.yaml`);
      // A fresh journal each run: the start of a newly installed gateway.
      writeFileSync(config, siteYaml({ devices, journalPath: join(dir, `gw-${i}.db`), brokerPort, sim: { host: '127.0.0.1', port: sim.port } }));
      const r = await coldStart(config, brokerPort, 120_000);
      opts.log(`  run ${i + 1}: ready ${fmt(r.readyMs, 0)} ms, first event ${fmt(r.firstEventMs, 0)} ms, RSS ${fmt(r.rssMB, 0)} MB`);
      results.push(r);
      await sleep(500);
    }
    const loads: number[] = [];
    for (let i = 0; i < runs; i++) loads.push(await loadOnly());
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    return {
      figures: [
        { id: 'devices', name: 'devices in the site file', value: SITE_DEVICES },
        {
          id: 'firstEvent',
          name: `cold start: \`gateway start\` to the first event on the bus (median of ${runs})`,
          value: Math.round(median(results.map((r) => r.firstEventMs))),
          unit: 'ms',
          budget: { op: '<=', value: BUDGET_MS, source: `performance budget: cold start with ${SITE_DEVICES.toLocaleString('en-US')} devices` },
        },
        {
          id: 'moduleLoad',
          name: 'of which process start and module load: `gateway version`, same loader, spawn to exit (median)',
          value: Math.round(median(loads)),
          unit: 'ms',
        },
        { id: 'ready', name: 'to the "gateway ready" line (median)', value: Math.round(median(results.map((r) => r.readyMs))), unit: 'ms' },
        { id: 'rssPeak', name: 'peak RSS of the gateway process at its first event (VmHWM, max of runs)', value: Math.round(Math.max(...results.map((r) => r.rssMB))), unit: 'MB', summary: true },
      ],
      tables: [
        {
          title: 'Runs',
          columns: ['run', 'ready ms', 'first event ms', 'peak RSS MB'],
          rows: results.map((r, i) => [i + 1, fmt(r.readyMs, 0), fmt(r.firstEventMs, 0), fmt(r.rssMB, 0)]),
        },
      ],
      method: [
        `Site file: ${SITE_DEVICES.toLocaleString('en-US')} gas detectors in 100 driver instances of 200 (YAML, one line per device, about ${Math.round(siteYaml({ devices, journalPath: '/tmp/x.db', brokerPort: 1, sim: { host: '127.0.0.1', port: 1 } }).length / 1024)} KiB); the first instance polls a Modbus TCP gas simulator on 127.0.0.1 (200 units, every 1 s), the other 99 are \`enabled: false\` (validated, in the inventory, not polled); a fresh journal each run.`,
        '`gateway start` is run as `node --import tsx gateway/cli.ts start --config <site.yaml>` (the TypeScript is compiled at load: an installed build from `dist/` starts faster; the `gateway version` figure is that share: the same process start and module load, without starting anything), each run a new process. Measured from the spawn to the first message on `<root>/events/#` of the gateway\'s own broker, received by an MQTT.js client in the bench process that retries its connection every 20 ms.',
      ],
    };
  } finally {
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
