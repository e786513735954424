/**
 * Section `cold-start`: `gateway start` on a generated 20,000-device site file, from the spawn
 * of the process to the first event on its local bus. The first driver instance polls a Modbus
 * TCP gas simulator on 127.0.0.1 (the first poll of a detector yields its first reading); the other
 * 99 instances are complete but not started. A subscriber in this process connects to the
 * gateway's broker as soon as it listens (retrying every 20 ms) and notes the first event.
 *
 * The headline is the compiled tree an installation runs (`MALLOC_ARENA_MAX=2 node
 * --max-old-space-size=512 dist/gateway/cli.js start`, as the systemd unit of scripts/install
 * does), built from the sources at the section's start; the same start from the TypeScript
 * sources under tsx (`npm run gateway`) is a second row.
 */
import { spawn, type StdioOptions } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { freePort } from '../../gateway/core/free-port.js';
import { GATEWAY_ENV, GATEWAY_NODE_FLAGS } from '../../gateway/core/node-flags.js';
import { startGasSimulatorTcp } from '../../simulators/gas-detector/serve-tcp.js';
import { buildProduct, REPO } from './build.js';
import { SITE_DEVICES, siteDevices, siteYaml } from './cold-start-site.js';
import { procRss, ROOT, stopProcess } from './peer.js';
import { fmt, now, sleep } from './stats.js';
import type { BenchOptions, SectionResult } from './types.js';

const BUDGET_MS = 3_000;

/** How the gateway is run: the compiled tree of an installation, or the sources under tsx. */
type Loader = 'dist' | 'tsx';
const LOADERS: readonly Loader[] = ['dist', 'tsx'];

/** Starts `gateway <args>` with the V8 heap limit and the environment the service unit gives it. */
function spawnGateway(loader: Loader, args: string[], stdio: StdioOptions) {
  const cli = loader === 'dist' ? [join(REPO, 'dist/gateway/cli.js')] : ['--import', 'tsx', join(REPO, 'gateway/cli.ts')];
  return spawn(process.execPath, [...GATEWAY_NODE_FLAGS, ...cli, ...args], { cwd: REPO, env: { ...process.env, ...GATEWAY_ENV }, stdio });
}

interface StartRun {
  loader: Loader;
  readyMs: number;
  firstEventMs: number;
  rssMB: number;
}

/** One cold start: spawn `gateway start`, wait for the first event on the bus, stop it. */
async function coldStart(loader: Loader, config: string, brokerPort: number, timeoutMs: number): Promise<StartRun> {
  const t0 = now();
  const proc = spawnGateway(loader, ['start', '--config', config], ['ignore', 'pipe', 'inherit']);
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  let readyMs = Number.NaN;
  proc.stdout!.on('data', (c: Buffer) => {
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
    return { loader, readyMs, firstEventMs: first, rssMB: procRss(proc.pid!)?.peakMB ?? Number.NaN };
  } finally {
    await new Promise<void>((r) => client.end(true, {}, () => r()));
    await stopProcess(proc, exited, 15_000);
  }
}

/** Process start and module load alone: spawn to exit of `gateway version` (cli imports the whole gateway). */
async function loadOnly(loader: Loader): Promise<number> {
  const t0 = now();
  const proc = spawnGateway(loader, ['version'], 'ignore');
  await new Promise<void>((r) => proc.once('exit', () => r()));
  return now() - t0;
}

export async function benchColdStart(opts: BenchOptions): Promise<SectionResult> {
  const runs = opts.quick ? 1 : 5;
  opts.log('  npm run build (the compiled tree an installation runs)');
  buildProduct();
  const dir = mkdtempSync(join(tmpdir(), 'cg-bench-cold-'));
  const sim = await startGasSimulatorTcp({ units: Array.from({ length: 200 }, (_, i) => i + 1) });
  try {
    const devices = siteDevices(SITE_DEVICES);
    const results: StartRun[] = [];
    const loads: Record<Loader, number[]> = { dist: [], tsx: [] };
    // The two ways alternate, so that a load on the machine meanwhile weighs on both alike.
    for (let i = 0; i < runs; i++) {
      for (const loader of LOADERS) {
        const brokerPort = await freePort();
        const config = join(dir, `site-${loader}-${i}.yaml`);
        // A fresh journal each run: the start of a newly installed gateway.
        writeFileSync(config, siteYaml({ devices, journalPath: join(dir, `gw-${loader}-${i}.db`), brokerPort, sim: { host: '127.0.0.1', port: sim.port } }));
        const r = await coldStart(loader, config, brokerPort, 120_000);
        opts.log(`  run ${i + 1} ${loader}: ready ${fmt(r.readyMs, 0)} ms, first event ${fmt(r.firstEventMs, 0)} ms, RSS ${fmt(r.rssMB, 0)} MB`);
        results.push(r);
        await sleep(500);
      }
    }
    for (let i = 0; i < runs; i++) for (const loader of LOADERS) loads[loader].push(await loadOnly(loader));
    const median = (xs: number[]) => Math.round([...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!);
    const of = (loader: Loader) => results.filter((r) => r.loader === loader);
    const firstEvents = (loader: Loader) => of(loader).map((r) => r.firstEventMs);
    return {
      figures: [
        { id: 'devices', name: 'devices in the site file', value: SITE_DEVICES },
        {
          id: 'firstEvent',
          name: `cold start: \`gateway start\` (compiled, \`node dist/gateway/cli.js\`) to the first event on the bus (median of ${runs})`,
          value: median(firstEvents('dist')),
          unit: 'ms',
          budget: { op: '<=', value: BUDGET_MS, source: `performance budget: cold start with ${SITE_DEVICES.toLocaleString('en-US')} devices` },
        },
        { id: 'firstEventRange', name: 'its fastest and slowest run', value: `${Math.round(Math.min(...firstEvents('dist'))).toLocaleString('en-US')} to ${Math.round(Math.max(...firstEvents('dist'))).toLocaleString('en-US')}`, unit: 'ms' },
        {
          id: 'moduleLoad',
          name: 'of which process start and module load: `node dist/gateway/cli.js version`, spawn to exit (median)',
          value: median(loads.dist),
          unit: 'ms',
        },
        { id: 'ready', name: 'to the "gateway ready" line (median)', value: median(of('dist').map((r) => r.readyMs)), unit: 'ms' },
        {
          id: 'firstEventTsx',
          name: `the same start from the sources under tsx (\`node --import tsx gateway/cli.ts\`, as \`npm run gateway\`) to the first event (median of ${runs})`,
          value: median(firstEvents('tsx')),
          unit: 'ms',
        },
        { id: 'moduleLoadTsx', name: 'of which process start and module load under tsx: `gateway version` (median)', value: median(loads.tsx), unit: 'ms' },
        { id: 'rssPeak', name: 'peak RSS of the gateway process at its first event (VmHWM, compiled, max of runs)', value: Math.round(Math.max(...of('dist').map((r) => r.rssMB))), unit: 'MB', summary: true },
      ],
      tables: [
        {
          title: 'Runs (in the order run)',
          columns: ['run', 'gateway', 'ready ms', 'first event ms', 'peak RSS MB'],
          rows: results.map((r, i) => [Math.floor(i / LOADERS.length) + 1, r.loader === 'dist' ? 'compiled (dist/)' : 'sources (tsx)', fmt(r.readyMs, 0), fmt(r.firstEventMs, 0), fmt(r.rssMB, 0)]),
        },
      ],
      method: [
        `Site file: ${SITE_DEVICES.toLocaleString('en-US')} gas detectors in 100 driver instances of 200 (YAML, one line per device, about ${Math.round(siteYaml({ devices, journalPath: '/tmp/x.db', brokerPort: 1, sim: { host: '127.0.0.1', port: 1 } }).length / 1024)} KiB); the first instance polls a Modbus TCP gas simulator on 127.0.0.1 (200 units, every 1 s), the other 99 are \`enabled: false\` (validated, in the inventory, not polled); a fresh journal each run.`,
        'The section first runs `npm run build` (the compiled tree and the console bundle, from the sources as they are), then starts the gateway as an installation does (the systemd unit of scripts/install runs `node <prefix>/dist/gateway/cli.js start --config <site.yaml>`): `node dist/gateway/cli.js start --config <site.yaml>`, each run a new process; that is the headline figure. The same start from the TypeScript sources (`node --import tsx gateway/cli.ts`, compiled at load, the console bundled with esbuild at start) alternates with it, run for run. The `gateway version` figures are the process start and module load alone (the CLI imports the whole gateway), without starting anything.',
        "Measured from the spawn to the first message on `<root>/events/#` of the gateway's own broker, received by an MQTT.js client in the bench process that retries its connection every 20 ms.",
      ],
    };
  } finally {
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
