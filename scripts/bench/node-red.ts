/**
 * Section `node-red`: Node-RED 4 doing the gateway's gas job (node-red-flow.json: MQTT in ->
 * a function node that normalises the register block and applies the gas thresholds -> MQTT out
 * to the local bus and to the city broker), under the same load as the pipeline, measured by the
 * peer harness (peer.ts). Node-RED is installed on first use into a cache folder, never a
 * dependency of the product: `npm install --prefix <cache> node-red@4`.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { deviceTable, SITE_DEVICES, siteDevices } from './cold-start-site.js';
import { STEP_COLUMNS, stepCells, SUSTAINED } from './load.js';
import { type PeerRun, type PeerSystem, ROOT, round2, runPeer, stopProcess } from './peer.js';
import type { BenchOptions, Figure, SectionResult, Table } from './types.js';

/** Where Node-RED is installed for the bench (BENCH_NODE_RED_DIR overrides). */
export const NODE_RED_DIR = process.env.BENCH_NODE_RED_DIR ?? join(homedir(), '.cache/compound-gateway-bench/node-red');
const FLOW = new URL('./node-red-flow.json', import.meta.url).pathname;

/** Installs Node-RED 4 into the cache folder unless it is there; returns its red.js and version. */
export function ensureNodeRed(log: (l: string) => void): { redJs: string; version: string } {
  const pkg = join(NODE_RED_DIR, 'node_modules/node-red/package.json');
  if (!existsSync(pkg)) {
    log(`  installing node-red@4 into ${NODE_RED_DIR} (first use only)`);
    mkdirSync(NODE_RED_DIR, { recursive: true });
    try {
      execFileSync('npm', ['install', '--prefix', NODE_RED_DIR, '--no-audit', '--no-fund', '--omit=dev', 'node-red@4'], {
        stdio: ['ignore', 'ignore', 'inherit'],
        timeout: 600_000,
      });
    } catch (err) {
      throw new Error(
        `could not install node-red@4 into ${NODE_RED_DIR} (${err instanceof Error ? err.message : err}): ` +
          'check the network and npm registry, or install it there yourself and rerun',
        { cause: err },
      );
    }
  }
  const version = (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version;
  return { redJs: join(NODE_RED_DIR, 'node_modules/node-red/red.js'), version };
}

/** Settings: no editor, no admin or node HTTP, loopback only, no credentials prompt, no telemetry. */
function settings(userDir: string, devicesFile: string): string {
  return `module.exports = {
  flowFile: ${JSON.stringify(FLOW)},
  userDir: ${JSON.stringify(userDir)},
  uiHost: '127.0.0.1',
  uiPort: 0,
  httpAdminRoot: false,
  httpNodeRoot: false,
  disableEditor: true,
  credentialSecret: false,
  flowFilePretty: false,
  readOnly: true,
  diagnostics: { enabled: false, ui: false },
  runtimeState: { enabled: false, ui: false },
  telemetry: { enabled: false, updateNotification: false },
  externalModules: { autoInstall: false, palette: { allowInstall: false }, modules: { allowInstall: false } },
  logging: { console: { level: 'warn', metrics: false, audit: false } },
  functionGlobalContext: { devices: JSON.parse(require('fs').readFileSync(${JSON.stringify(devicesFile)}, 'utf8')) },
};
`;
}

/** Node-RED as a child process: node red.js --settings <generated settings.js>. */
export function nodeRedSystem(redJs: string, devicesFile: string): PeerSystem {
  return {
    start: async (local, city) => {
      const userDir = mkdtempSync(join(tmpdir(), 'cg-bench-node-red-'));
      const settingsFile = join(userDir, 'settings.js');
      writeFileSync(settingsFile, settings(userDir, devicesFile));
      const proc = spawn(process.execPath, [redJs, '--settings', settingsFile, '--userDir', userDir], {
        env: { ...process.env, LOCAL_PORT: String(local.port), CITY_PORT: String(city.port), BENCH_ROOT: ROOT, NODE_RED_ENABLE_PROJECTS: 'false' },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      const exited = new Promise<void>((r) => proc.once('exit', () => r()));
      if (!proc.pid) throw new Error(`could not start Node-RED (${redJs})`);
      const pid = proc.pid;
      return {
        pid,
        stop: async () => {
          await stopProcess(proc, exited, 10_000);
          rmSync(userDir, { recursive: true, force: true });
        },
      };
    },
  };
}

export async function benchNodeRed(opts: BenchOptions): Promise<SectionResult> {
  const { redJs, version } = ensureNodeRed(opts.log);
  const devices = opts.quick ? 2_000 : 4_000;
  const dir = mkdtempSync(join(tmpdir(), 'cg-bench-node-red-site-'));
  try {
    const devicesFile = join(dir, 'devices.json');
    writeFileSync(devicesFile, JSON.stringify(deviceTable(siteDevices(SITE_DEVICES))));
    opts.log(`  Node-RED ${version}; device table of ${SITE_DEVICES.toLocaleString('en-US')} detectors; load over ${devices} of them`);
    const run = await runPeer(opts, nodeRedSystem(redJs, devicesFile), { devices, sweep: true });
    return peerResult(run, {
      what: 'Node-RED',
      table: `${SITE_DEVICES.toLocaleString('en-US')}-device table`,
      method: [
        `Node-RED ${version} (installed by the bench into ${NODE_RED_DIR}, not a product dependency), one process, flow \`scripts/bench/node-red-flow.json\`: \`mqtt in\` on \`dev/gas-detector/+/+\` (local bus) -> a \`function\` node that parses the generic-lel register block, scales it, checks ranges and thresholds, looks the device up in a table of ${SITE_DEVICES.toLocaleString('en-US')} detectors (global context, loaded by settings.js) and builds the event (gas.reading, or gas.alarm.low / gas.alarm.high at QoS 1) -> \`mqtt out\` to the local bus and to the city broker. Editor, admin and node HTTP off, loopback only, no credentials file, telemetry off.`,
        `Brokers: two bare aedes on 127.0.0.1 in the bench process (local bus, city). Device messages: gas-publisher-child.ts (MQTT.js, own process), ${devices} detectors, open loop on the pipeline's schedule and rate steps; latency from its send call to the arrival in the pipeline's subscriber process on \`<root>/events/#\`. Sustained: generator within ${SUSTAINED.maxLagMs} ms of schedule and p99 <= ${SUSTAINED.p99Ms} ms.`,
        'Unlike the gateway, nothing is journaled (no disk write, no outbox): the flow only transforms and forwards, and a message in flight is lost if the process dies.',
      ],
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The figures and tables of a peer run (Node-RED, the relay). */
export function peerResult(run: PeerRun, o: { what: string; table?: string; method: string[] }): SectionResult {
  const ov = run.overload;
  const figures: Figure[] = [
    { id: 'coldStart', name: `cold start: spawn to first event on the bus${o.table ? ` (${o.table})` : ''}`, value: Math.round(run.firstEventMs), unit: 'ms', summary: true },
  ];
  if (run.sweep) {
    const { moderate, best } = run.sweep;
    figures.push(
      { id: 'maxSustained', name: 'max sustained rate (open loop)', value: best?.rate ?? 0, unit: 'events/s', summary: true },
      { id: 'deliveredAtMax', name: 'delivered at max sustained', value: Math.round(best?.deliveredPerS ?? 0), unit: 'events/s' },
      { id: 'p50At2k', name: 'p50 latency at 2,000 events/s', value: round2(moderate.lat.p50), unit: 'ms', summary: true },
      { id: 'p99At2k', name: 'p99 latency at 2,000 events/s', value: round2(moderate.lat.p99), unit: 'ms', summary: true },
      { id: 'lost', name: 'events lost in the sweep (not received within the drain wait)', value: [moderate, ...run.sweep.steps].reduce((s, r) => s + r.lost, 0), unit: 'events' },
    );
  }
  figures.push(
    { id: 'overloadRate', name: `telemetry offered during the overload (3x gateway capacity ${ov.capacity.rate.toLocaleString('en-US')}/s)`, value: ov.offeredRate, unit: 'events/s' },
    { id: 'alarmsReceived', name: 'high-gas readings on the bus / offered during the overload', value: `${ov.alarmsReceived} / ${ov.alarms}` },
    { id: 'alarmP50', name: 'high-gas reading latency under overload, p50', value: ov.p50, unit: 'ms' },
    { id: 'alarmP99', name: 'high-gas reading latency under overload, p99', value: ov.p99, unit: 'ms', summary: true },
    { id: 'rssIdle', name: `RSS of the ${o.what} process, idle after start`, value: run.rssAtIdleMB, unit: 'MB' },
    { id: 'rssOverloadPeak', name: `RSS of the ${o.what} process during the overload, peak of samples`, value: Math.round(ov.rssPeakMB), unit: 'MB' },
    { id: 'rssPeak', name: `peak RSS of the ${o.what} process (kernel VmHWM, whole run)`, value: run.peakRssMB, unit: 'MB', summary: true },
  );
  const tables: Table[] = [
    {
      title: `RSS of the ${o.what} process during the overload (t s, MB)`,
      columns: ['t s', 'RSS MB'],
      rows: ov.rssSamples.filter((_, i, a) => i % Math.max(1, Math.round(a.length / 12)) === 0).map(([t, m]) => [t, m]),
    },
  ];
  if (run.sweep)
    tables.unshift({ title: 'Rate sweep (first row: the fixed moderate rate)', columns: STEP_COLUMNS, rows: [run.sweep.moderate, ...run.sweep.steps].map(stepCells) });
  return {
    figures,
    tables,
    series: [{ id: 'overloadRss', title: `${o.what} RSS during the overload`, x: 't s', y: 'RSS MB', points: ov.rssSamples }],
    method: [
      ...o.method,
      `Overload: telemetry at 3x the gateway's capacity (from ${ov.capacity.source}) for ${ov.durationS} s, plus 20/s high-gas readings (62 %LEL) on the same path: the "alarm" of a system without alarm handling is a high-gas reading travelling the same path. Their latency is from the send call to a subscriber of \`<root>/events/+/+/gas.alarm.high\` in its own process; alarms not there within ${ov.waitMs / 1000} s after the load count against the p99 (shown as "> wait" when more than 1% are missing).`,
      `Cold start: from the spawn of the process to the first event on the bus, the publisher sending one reading every 20 ms from before the spawn. RSS: /proc/<pid>/status of the ${o.what} process (VmRSS sampled every 250 ms during the overload; VmHWM for the peak).`,
    ],
  };
}
