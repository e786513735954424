/**
 * Bench section `ebike-cut-latency`: how long an e-bike pile port whose relay is stuck keeps
 * drawing overcurrent before the gateway cuts it, while 2,000 simulated gas detectors polled over
 * Modbus TCP produce background load.
 *
 * The real gateway (startGateway, journal synchronous=FULL) runs in this process and polls one bus
 * of simulated piles (the e-bike simulator on loopback Modbus TCP) at its configured interval. A
 * sample: the simulator starts serving an overcurrent on a port whose relay is stuck (the pile's
 * own protection does not trip); the driver's next poll reads it, the built-in rule
 * `ebike-overcurrent-relay-on` raises a critical alarm and sends `port.cut` of that port, and the
 * FC5 coil write (Modbus Application Protocol V1.1b3 §6.5) arrives at the simulator. Times are
 * taken in the simulator, on the process's one clock: when it starts serving the overcurrent, when
 * it answers the first read of the pile's port registers after that (the poll that read it), and
 * when it acts on the coil write. The figure is dominated by the poll interval.
 *
 * Between samples a person restores the port: the fault is cleared at the pile (simulator
 * control), the duty staff resolve the alarm on the console feed, an operator sends
 * `port.restore` on the local bus, and the gateway reads the port charging again; then a random
 * pause of up to one poll interval, so the samples fall uniformly on the poll cycle.
 *
 *   npx tsx scripts/bench/ebike-cut-latency.ts [--quick]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import type { DeviceEvent } from '../../gateway/core/envelope.js';
import { createLogger } from '../../gateway/core/logger.js';
import { type Gateway, startGateway } from '../../gateway/gateway.js';
import { waitFor } from '../../gateway/testing/wait-for.js';
import { type RunningEbikeSimulatorTcp, startEbikeSimulatorTcp } from '../../simulators/ebike-pile/index.js';
import { type RunningGasSimulatorTcp, startGasSimulatorTcp } from '../../simulators/gas-detector/index.js';
import { POLLED_FLEET, polledFleetDrivers, wanderLevels } from './gas-load.js';
import { benchSite, type Marks, marker, openFeed, OPS, step } from './latency-rig.js';
import { fmt, fmtInt, type LatencySummary, now, sleep, summarise } from './stats.js';
import type { BenchOptions, Figure, SectionResult } from './types.js';

/** The pile bus's configured poll interval (the driver's default). */
const PILE_POLL_MS = 1000;
/** Piles on the bus (one Modbus unit each, the shipped 10-port model); ports 1..5 of each charging. */
const PILES = 4;
const CHARGING_PORTS = [1, 2, 3, 4, 5];
/** The pile and port whose relay is stuck. */
const BENCH = { id: 'ebike-b2-01', unitId: 1, port: 3 } as const;
const RULE = 'ebike-overcurrent-relay-on';
/** An admin account: console login (resolve) and commands on the local bus. */
/** Longest wait for one step of a sample; a step not done by then fails the section. */
const STEP_TIMEOUT_MS = 10_000;


interface Rig {
  gw: Gateway;
  pile: RunningEbikeSimulatorTcp;
  marks: Marks;
  /** The alarm of the current sample, as the console feed showed it. */
  feed: { alarmId?: string };
  resolve(alarmId: string): Promise<void>;
  command(name: string, args: object): Promise<void>;
  close(): Promise<void>;
}

/** Records, in the simulator, the first port-register read of the bench pile after the overcurrent is served, and the cut. */
function recordInSimulator(pile: RunningEbikeSimulatorTcp, marks: Marks): void {
  const { sim } = pile;
  const read = sim.read.bind(sim);
  sim.read = (table, unitId, addr, len) => {
    if (table === 'input' && unitId === BENCH.unitId && marks.has('served') && !marks.has('read')) marks.set('read', now());
    return read(table, unitId, addr, len);
  };
  // FC5 from the gateway lands here (this bench never switches a relay through the simulator's control).
  const setRelay = sim.setRelay.bind(sim);
  sim.setRelay = (unitId, port, on) => {
    if (unitId === BENCH.unitId && port === BENCH.port && !on && marks.has('served') && !marks.has('cut')) marks.set('cut', now());
    setRelay(unitId, port, on);
  };
}

async function startRig(o: BenchOptions, gas: RunningGasSimulatorTcp[], dir: string): Promise<Rig> {
  const marks: Marks = new Map();
  const mark = marker(marks);
  const pile = await startEbikeSimulatorTcp({ units: Array.from({ length: PILES }, (_, i) => i + 1), speedup: 0 });
  recordInSimulator(pile, marks);
  const config = benchSite(dir, [
    ...polledFleetDrivers(gas, ['kitchen']),
    {
      family: 'ebike-pile',
      id: 'ebike-shed-b2',
      transport: { type: 'tcp', host: pile.host, port: pile.port },
      pollIntervalMs: PILE_POLL_MS,
      devices: Array.from({ length: PILES }, (_, i) => ({
        id: `ebike-b2-${String(i + 1).padStart(2, '0')}`,
        unitId: i + 1,
        building: 'B2',
        zone: '车棚',
      })),
    },
  ]);
  const gw = await startGateway(config, createLogger(process.env.LOG_LEVEL ?? 'error'));
  // What the driver hands to the pipeline: the alarm event, and the port's relay as the gateway reads it.
  const ingest = gw.pipeline.ingest.bind(gw.pipeline);
  gw.pipeline.ingest = (e: DeviceEvent) => {
    const d = e.data as { port?: number; relayOn?: boolean; state?: string };
    if (e.deviceId === BENCH.id && d.port === BENCH.port) {
      if (e.type === 'pile.overcurrent' && !e.historical) mark('ingest');
      if (e.type === 'pile.port.state') mark(d.relayOn && d.state === 'charging' ? 'seen-on' : !d.relayOn ? 'seen-off' : 'seen-other');
    }
    return ingest(e);
  };

  // The duty staff's console: logged in, it receives the feed and resolves alarms.
  const feed: Rig['feed'] = {};
  const staff = await openFeed(
    gw,
    (e, t) => {
    const a = e.data.alarm;
    if (e.type === 'alarm.raised' && a?.rule === RULE && a.device.id === BENCH.id) {
      feed.alarmId = a.id;
      mark('feed', t);
    }
    },
    STEP_TIMEOUT_MS,
  );

  // The operator's MQTT client on the local bus: `<root>/cmd/<device>/<command>`, answered on `cmd-response`.
  const tcp = gw.broker.listeners.find((l) => l.type === 'tcp')!;
  const ops = await mqtt.connectAsync(`mqtt://127.0.0.1:${tcp.port}`, { ...OPS, clientId: 'ops-bench', reconnectPeriod: 0 });
  const responses = new Map<string, { status: string; error?: string }>();
  ops.on('message', (_topic, payload) => {
    const r = JSON.parse(payload.toString()) as { id: string; status: string; error?: string };
    if (r.status !== 'accepted') responses.set(r.id, r);
  });
  await ops.subscribeAsync(`${gw.root}/cmd-response/${BENCH.id}`, { qos: 1 });
  let cmd = 0;

  o.log(`ebike-cut-latency: gateway up, ${PILES} piles polled every ${PILE_POLL_MS} ms`);
  return {
    gw, pile, marks, feed,
    resolve: (alarmId) => staff.ask({ op: 'resolve', alarmId, note: 'bench: port restored' }),
    async command(name, args) {
      const id = `bench-op-${++cmd}`;
      await ops.publishAsync(`${gw.root}/cmd/${BENCH.id}/${name}`, JSON.stringify({ id, args }), { qos: 1 });
      const r = await waitFor(`response to ${name}`, () => responses.get(id), { timeoutMs: STEP_TIMEOUT_MS, everyMs: 5 });
      responses.delete(id);
      if (r.status !== 'ok') throw new Error(`${name} ${JSON.stringify(args)} on ${BENCH.id}: ${r.status} ${r.error ?? ''}`);
    },
    async close() {
      await ops.endAsync();
      staff.close();
      await gw.close();
      await pile.close();
    },
  };
}

const stepOf = (r: Rig, key: string): Promise<number> => step(r.gw, r.marks, key, STEP_TIMEOUT_MS);

interface Series {
  servedToRead: number[];
  readToIngest: number[];
  readToFeed: number[];
  readToCut: number[];
  servedToCut: number[];
}

/** One sample: overcurrent on the stuck-relay port until the cut arrives; then the port restored as a person would. */
async function sample(r: Rig, s?: Series): Promise<void> {
  r.marks.clear();
  r.feed.alarmId = undefined;
  r.pile.sim.inject(BENCH.unitId, BENCH.port, { overcurrent: true });
  const served = now();
  r.marks.set('served', served);
  const cut = await stepOf(r, 'cut');
  const read = await stepOf(r, 'read');
  const ingest = await stepOf(r, 'ingest');
  const feed = await stepOf(r, 'feed');
  s?.servedToRead.push(read - served);
  s?.readToIngest.push(ingest - read);
  s?.readToFeed.push(feed - read);
  s?.readToCut.push(cut - read);
  s?.servedToCut.push(cut - served);

  // The gateway reads the port cut; the fault is cleared at the pile, the alarm resolved, the port restored.
  await stepOf(r, 'seen-off');
  r.pile.sim.inject(BENCH.unitId, BENCH.port, { overcurrent: false });
  await r.resolve(r.feed.alarmId!);
  r.marks.delete('seen-on');
  await r.command('port.restore', { port: BENCH.port });
  await stepOf(r, 'seen-on');
  await waitFor('pipeline not behind', () => r.gw.pipeline.pressure === 'ok', { timeoutMs: STEP_TIMEOUT_MS, everyMs: 5 });
  await sleep(Math.random() * PILE_POLL_MS); // uniformly off the poll cycle's phase
}

export async function benchEbikeCutLatency(o: BenchOptions): Promise<SectionResult> {
  const samples = o.quick ? 5 : 100;
  const dir = mkdtempSync(join(tmpdir(), 'bench-ebike-cut-'));
  const gas = await Promise.all(
    Array.from({ length: POLLED_FLEET.buses }, () =>
      startGasSimulatorTcp({ units: Array.from({ length: POLLED_FLEET.unitsPerBus }, (_, i) => i + 1) }),
    ),
  );
  const background = wanderLevels(gas);
  const s: Series = { servedToRead: [], readToIngest: [], readToFeed: [], readToCut: [], servedToCut: [] };
  let rig: Rig | undefined;
  let eventsPerS: number;
  try {
    rig = await startRig(o, gas, dir);
    const r = rig;
    // The loads plug in; the bench port's relay is stuck. The gateway reads the bench port charging.
    for (let unit = 1; unit <= PILES; unit++) for (const port of CHARGING_PORTS) r.pile.sim.plug(unit, port, true);
    r.pile.sim.inject(BENCH.unitId, BENCH.port, { stuckRelay: true });
    await stepOf(r, 'seen-on');
    o.log('ebike-cut-latency: warming up (every gas detector polled, one cut not counted)');
    await sleep(POLLED_FLEET.pollMs * 3);
    await sample(r);
    const startSeq = r.gw.pipeline.lastSeq;
    const startT = now();
    for (let i = 0; i < samples; i++) await sample(r, s);
    eventsPerS = ((r.gw.pipeline.lastSeq - startSeq) * 1000) / (now() - startT);
    o.log(`ebike-cut-latency: ${samples} cuts done`);
  } finally {
    await background.stop();
    await rig?.close();
    await Promise.all(gas.map((x) => x.close()));
    rmSync(dir, { recursive: true, force: true });
  }
  return result(s, eventsPerS);
}

function result(s: Series, eventsPerS: number): SectionResult {
  const sum = (a: number[]) => summarise(Float64Array.from(a));
  const budget = { op: '<=' as const, value: PILE_POLL_MS + 50, source: `performance budget: the cut reaches the pile within one poll interval (${PILE_POLL_MS} ms) + 50 ms, p99` };
  const paths: [id: string, name: string, x: LatencySummary, budgeted: boolean][] = [
    ['cut', `overcurrent served on the stuck-relay port: port.cut coil write at the pile (poll interval ${PILE_POLL_MS} ms)`, sum(s.servedToCut), true],
    ['read-to-cut', 'poll that read the overcurrent: port.cut coil write at the pile', sum(s.readToCut), false],
  ];
  const figures: Figure[] = [];
  for (const [id, name, x, budgeted] of paths) {
    figures.push({ id: `${id}-p50`, name: `${name}, p50`, value: Number(fmt(x.p50, 3)), unit: 'ms' });
    figures.push({ id: `${id}-p99`, name: `${name}, p99`, value: Number(fmt(x.p99, 3)), unit: 'ms', ...(budgeted ? { budget } : { summary: true }) });
    figures.push({ id: `${id}-max`, name: `${name}, max`, value: Number(fmt(x.max, 3)), unit: 'ms' });
  }
  figures.push({ id: 'samples', name: 'samples (each one cut)', value: s.servedToCut.length });
  figures.push({ id: 'background-events-per-s', name: 'background events/s during the samples', value: Math.round(eventsPerS), unit: 'events/s' });
  const row = (from: string, to: string, x: LatencySummary) => [from, to, x.count, fmt(x.p50, 3), fmt(x.p99, 3), fmt(x.max, 3)];
  return {
    figures,
    tables: [
      {
        title: `Stuck relay on overcurrent: time to the cut (ms), pile polled every ${PILE_POLL_MS} ms`,
        columns: ['from', 'to', 'samples', 'p50', 'p99', 'max'],
        rows: [
          row('overcurrent served', 'first read of the port registers (the poll that reads it)', sum(s.servedToRead)),
          row('that poll read', 'pile.overcurrent handed to the pipeline', sum(s.readToIngest)),
          row('that poll read', 'critical alarm on the console feed', sum(s.readToFeed)),
          row('that poll read', 'port.cut coil write at the pile', sum(s.readToCut)),
          row('overcurrent served', 'port.cut coil write at the pile', sum(s.servedToCut)),
          ['background', 'gas-detector events/s', fmtInt(eventsPerS), '', '', ''],
        ],
      },
    ],
    method: [
      `The real gateway (journal synchronous=FULL) polls ${POLLED_FLEET.buses * POLLED_FLEET.unitsPerBus} simulated gas detectors over Modbus TCP (${POLLED_FLEET.buses} simulators, poll interval ${POLLED_FLEET.pollMs} ms) as background load, and one bus of ${PILES} simulated e-bike piles (the e-bike simulator on loopback Modbus TCP, ports ${CHARGING_PORTS[0]}..${CHARGING_PORTS.at(-1)} of each charging) with poll interval ${PILE_POLL_MS} ms: the figure is dominated by it (on average half an interval waiting for the next poll).`,
      `Port ${BENCH.port} of ${BENCH.id} has a stuck relay (the pile's protection does not trip). A sample starts when the simulator starts serving an overcurrent on it; the driver's next poll reads it, the built-in rule \`${RULE}\` raises a critical alarm and sends \`port.cut\` of that port, and the sample ends when the simulator acts on the FC5 coil write. The poll that read it is the simulator's first answer to a read of the pile's port registers after the overcurrent was served. All times are taken in the one process (simulator and gateway), on its monotonic clock.`,
      `Samples run one at a time, after one not counted (warm-up). Between samples a person restores the port: the fault is cleared at the pile (simulator control), the alarm is resolved on the console feed (WebSocket, logged in), \`port.restore\` is sent on the local bus (MQTT, admin account) and answered ok, and the gateway reads the port charging again; then a random pause of up to one poll interval, so the samples fall uniformly on the poll cycle. A step not done within ${STEP_TIMEOUT_MS / 1000} s fails the section.`,
    ],
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const quick = process.argv.includes('--quick');
  benchEbikeCutLatency({ quick, log: (l) => console.error(l) }).then(
    (r) => {
      for (const row of r.tables?.[0]?.rows ?? []) console.log(row.join('\t'));
      process.exit(0);
    },
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
