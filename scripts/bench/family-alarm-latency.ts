/**
 * Bench section `family-alarm-latency`: alarm latency of the push families, from the device's own
 * message on the wire to the console feed and to the linkage command arriving at a device, while
 * 2,000 simulated gas detectors polled over Modbus TCP produce background load.
 *
 * The real gateway (startGateway, journal synchronous=FULL) runs in this process with the real
 * simulators on loopback:
 *  (a) LoRaWAN smoke detectors: the LoRaWAN simulator publishes ChirpStack v4 `up` events (JSON,
 *      binary frame in base64) to the embedded broker as the network server's account. One
 *      detector's alarm raises `smoke-alarm`; a second detector of the same building confirms the
 *      fire (`fire-confirmed`, GB 50116 §4.1.6), which holds the building's gate and the exit gate
 *      open: `door.always-open` reaches the simulated ISAPI terminals over HTTP with Digest.
 *  (b) Access gates: a simulated ISAPI terminal records a forced door and pushes it (multipart,
 *      Digest, RFC 7616) to the driver's listener: `gate-door-forced` on the feed. No built-in rule
 *      of the access-gate family sends a command, so (b) has no linkage figure.
 *
 * Samples run one at a time: each waits for its alarm (and commands), then the bench resolves the
 * alarms as the duty staff would, waits for the gates to be back to normal and the pipeline not
 * behind, and pauses a little, so no sample queues behind another.
 *
 *   npx tsx scripts/bench/family-alarm-latency.ts [--quick]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { validateConfig } from '../../config/load.js';
import { PUSH_PATH } from '../../drivers/access-gate/driver.js';
import { hashPassword } from '../../gateway/auth/password.js';
import type { DeviceEvent } from '../../gateway/core/envelope.js';
import { freePort } from '../../gateway/core/free-port.js';
import { createLogger } from '../../gateway/core/logger.js';
import { type Gateway, startGateway } from '../../gateway/gateway.js';
import { waitFor } from '../../gateway/testing/wait-for.js';
import { DEMO_PEOPLE } from '../../simulators/access-gate/compound.js';
import { GateSimulator } from '../../simulators/access-gate/simulator.js';
import { type RunningGasSimulatorTcp, startGasSimulatorTcp } from '../../simulators/gas-detector/index.js';
import { LorawanSimulator } from '../../simulators/lorawan/lorawan-simulator.js';
import { POLLED_FLEET, polledFleetDrivers, wanderLevels } from './gas-load.js';
import { fmt, fmtInt, type LatencySummary, now, sleep, summarise } from './stats.js';
import type { BenchOptions, Figure, SectionResult } from './types.js';

const { buses: BUSES, unitsPerBus: UNITS_PER_BUS, pollMs: POLL_MS } = POLLED_FLEET;
const NS = { username: 'chirpstack', password: 'bench-ns-password' };
const APPLICATION = '7f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f';
const API = { username: 'admin', password: 'bench-gate-admin' };
/** Fire building F1: two detectors and its gate; the exit gate and the gate whose door is forced are elsewhere. */
const DETECTORS = [
  { id: 'smoke-f1-1', devEui: '70b3d57ed000f101', zone: 'stair-1' },
  { id: 'smoke-f1-2', devEui: '70b3d57ed000f102', zone: 'stair-2' },
] as const;
const GATES = [
  { id: 'gate-f1', building: 'F1', zone: 'lobby', tags: [] as string[] },
  { id: 'gate-north', building: 'gatehouse', zone: 'north-gate', tags: ['exit'] },
  { id: 'gate-east', building: 'gatehouse', zone: 'east-gate', tags: [] as string[] },
] as const;
const FIRE_GATES = ['gate-f1', 'gate-north'];
const FORCED_GATE = 'gate-east';
/** Longest wait for one alarm or command; not there by then, it is counted as lost. */
const SAMPLE_TIMEOUT_MS = 10_000;
/** More alarms lost than this: the section fails (something is broken, not slow). */
const MAX_LOST = 5;

/** When each awaited thing happened in the current sample (monotonic ms), by key. */
type Marks = Map<string, number>;

interface Rig {
  gw: Gateway;
  marks: Marks;
  lora: LorawanSimulator;
  gates: Map<string, GateSimulator>;
  close(): Promise<void>;
}

async function startRig(o: BenchOptions, sims: RunningGasSimulatorTcp[], dir: string): Promise<Rig> {
  const marks: Marks = new Map();
  const mark = (key: string, t: number) => {
    if (!marks.has(key)) marks.set(key, t);
  };
  const listenPort = await freePort();
  const gates = new Map<string, GateSimulator>();
  for (const g of GATES) {
    const sim = new GateSimulator({
      ...API,
      doors: 1,
      people: DEMO_PEOPLE,
      openMs: 100, // a forced door closes again quickly, so the next sample can force it
      heldOpenMs: 600_000,
      push: { url: `http://127.0.0.1:${listenPort}${PUSH_PATH}`, username: `push-${g.id}`, password: `push-${g.id}-secret` },
    });
    await sim.start();
    // The command has arrived when the terminal acts on its ISAPI RemoteControlDoor request.
    const remote = sim.model.remote.bind(sim.model);
    sim.model.remote = (door, cmd) => {
      mark(`gate:${g.id}:${cmd}`, now());
      remote(door, cmd);
    };
    gates.set(g.id, sim);
  }
  const parsed = validateConfig({
    site: { id: 'bench-site' },
    gateway: { id: 'gw-bench' },
    demo: true, // the feed client reads anonymously
    log: { level: 'warn' },
    broker: {
      listeners: [{ type: 'tcp', host: '127.0.0.1', port: 0 }],
      accounts: [{ username: NS.username, role: 'device', publish: ['application/#'], passwordHash: hashPassword(NS.password) }],
    },
    journal: { path: join(dir, 'gw.db'), synchronous: 'FULL' },
    http: { host: '127.0.0.1', port: 0 },
    drivers: [
      ...polledFleetDrivers(sims, ['kitchen']),
      {
        family: 'smoke-detector',
        id: 'lora-smoke',
        account: NS.username,
        devices: DETECTORS.map((d) => ({ id: d.id, devEui: d.devEui, building: 'F1', zone: d.zone })),
      },
      {
        family: 'access-gate',
        id: 'gates',
        listen: { host: '127.0.0.1', port: listenPort },
        devices: GATES.map((g) => ({
          ...g,
          url: gates.get(g.id)!.url,
          api: API,
          push: { username: `push-${g.id}`, password: `push-${g.id}-secret` },
        })),
      },
    ],
  });
  if (!parsed.ok) throw new Error(`bench config: ${JSON.stringify(parsed.problems.slice(0, 3))}`);
  const gw = await startGateway(parsed.config, createLogger(process.env.LOG_LEVEL ?? 'error'));
  // The device message reaches the gateway when the driver hands its event to the pipeline.
  const ingest = gw.pipeline.ingest.bind(gw.pipeline);
  gw.pipeline.ingest = (e: DeviceEvent) => {
    if (e.kind === 'alarm' && !e.historical) mark(`ingest:${e.type}:${e.deviceId}`, now());
    return ingest(e);
  };
  const ws = new WebSocket(`${gw.http.url.replace(/^http/, 'ws')}/alarms/feed`);
  ws.on('message', (d) => {
    const t = now();
    const m = JSON.parse(d.toString()) as {
      type: string;
      event?: { type: string; data: { alarm?: { rule: string; device: { id: string } } } };
    };
    const a = m.event?.data.alarm;
    if (m.type === 'alarm' && m.event?.type === 'alarm.raised' && a) mark(`feed:${a.rule}:${a.device.id}`, t);
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const tcp = gw.broker.listeners.find((l) => l.type === 'tcp')!;
  const lora = new LorawanSimulator({
    url: `mqtt://127.0.0.1:${tcp.port}`,
    ...NS,
    clientId: `${NS.username}:bench`, // a device account's client id starts with its user name
    applicationId: APPLICATION,
    devices: DETECTORS.map((d) => ({ id: d.id, devEui: d.devEui, kind: 'smoke' as const, heartbeatIntervalS: 3600 })),
  });
  await lora.connected();
  o.log('family-alarm-latency: gateway, LoRaWAN simulator and 3 ISAPI terminals up');
  return {
    gw, marks, lora, gates,
    async close() {
      await lora.close();
      ws.close();
      await gw.close();
      await Promise.all([...gates.values()].map((g) => g.close()));
    },
  };
}

/** An alarm or command of a sample that never came; the message says what the drivers refused meanwhile. */
class NotArrived extends Error {}

/** Waits for a mark of the current sample; the time it happened. */
async function arrival(r: Rig, key: string): Promise<number> {
  try {
    return await waitFor(key, () => r.marks.get(key), { timeoutMs: SAMPLE_TIMEOUT_MS, everyMs: 2 });
  } catch (err) {
    const count = async (c: { get(): Promise<{ values: { labels: object; value: number }[] }> }) =>
      (await c.get()).values.filter((v) => v.value > 0).map((v) => `${JSON.stringify(v.labels)}: ${v.value}`);
    const refused = await count(r.gw.metrics.driverRefused);
    const invalid = await count(r.gw.metrics.invalidInputs);
    const drivers = r.gw.drivers
      .status()
      .filter((d) => d.state !== 'running')
      .map((d) => `${d.id} ${d.state}${d.lastError ? ` (${d.lastError})` : ''}`);
    throw new NotArrived(
      `${(err as Error).message}; device input refused so far: ${refused.join(', ') || 'none'}; invalid: ${invalid.join(', ') || 'none'}; drivers not running: ${drivers.join(', ') || 'none'}; pipeline ${r.gw.pipeline.pressure} (run with LOG_LEVEL=info for the gateway's log)`,
      { cause: err },
    );
  }
}

/** Between samples: active alarms resolved, gates back to normal and drained, the pipeline not behind. */
async function settle(r: Rig): Promise<void> {
  for (const a of r.gw.alarms.engine.activeAlarms()) r.gw.alarms.engine.resolve(a.id, 'bench', 'bench: next sample');
  await waitFor(
    'gates back to normal, door closed',
    () => [...r.gates.values()].every((g) => g.model.state().doors.every((d) => d.mode === 'normal' && !d.open)),
    { timeoutMs: SAMPLE_TIMEOUT_MS, everyMs: 5 },
  );
  await Promise.all([...r.gates.values()].map((g) => g.drained()));
  await waitFor('pipeline not behind', () => r.gw.pipeline.pressure === 'ok', { timeoutMs: SAMPLE_TIMEOUT_MS, everyMs: 5 });
  await sleep(20 + Math.random() * 30); // off the poll cycle's phase
  r.marks.clear();
}

interface Series {
  smokeIngest: number[];
  smokeFeed: number[];
  fireFeed: number[];
  fireGates: number[];
  gateIngest: number[];
  gateFeed: number[];
  /** Samples whose alarm or command never came, each with what the drivers had refused by then. */
  lost: string[];
}
const newSeries = (lost: string[] = []): Series => ({ smokeIngest: [], smokeFeed: [], fireFeed: [], fireGates: [], gateIngest: [], gateFeed: [], lost });

/** Runs one sample; one whose alarm never comes is counted as lost (the next sample starts afresh). */
async function attempt(o: BenchOptions, s: Series, sample: () => Promise<void>): Promise<void> {
  try {
    await sample();
  } catch (err) {
    if (!(err instanceof NotArrived)) throw err;
    s.lost.push(err.message);
    o.log(`family-alarm-latency: LOST: ${err.message}`);
    if (s.lost.length > MAX_LOST) throw new Error(`${s.lost.length} alarms or commands lost; the last: ${err.message}`, { cause: err });
  }
}

/** (a) One fire: detector 1 alarms, then detector 2 confirms; both smoke alarms and the fire are timed. */
async function fireSample(r: Rig, s: Series): Promise<void> {
  for (const d of DETECTORS) {
    const t0 = now();
    await r.lora.apply(d.id, { alarm: true });
    s.smokeIngest.push((await arrival(r, `ingest:smoke.alarm:${d.id}`)) - t0);
    s.smokeFeed.push((await arrival(r, `feed:smoke-alarm:${d.id}`)) - t0);
    if (d === DETECTORS[1]) {
      s.fireFeed.push((await arrival(r, `feed:fire-confirmed:${d.id}`)) - t0);
      const at = await Promise.all(FIRE_GATES.map((g) => arrival(r, `gate:${g}:alwaysOpen`)));
      s.fireGates.push(Math.max(...at) - t0);
    }
  }
  // The smoke is gone; the duty staff then resolve the fire (the gates resume) and both smoke alarms.
  for (const d of DETECTORS) await r.lora.apply(d.id, { alarm: false });
}

/** (b) One forced door, pushed by the terminal with Digest. */
async function gateSample(r: Rig, s: Series): Promise<void> {
  const t0 = now();
  r.gates.get(FORCED_GATE)!.model.force(1);
  s.gateIngest.push((await arrival(r, `ingest:door.forced:${FORCED_GATE}`)) - t0);
  s.gateFeed.push((await arrival(r, `feed:gate-door-forced:${FORCED_GATE}`)) - t0);
}

export async function benchFamilyAlarmLatency(o: BenchOptions): Promise<SectionResult> {
  const samples = o.quick ? 20 : 200;
  const dir = mkdtempSync(join(tmpdir(), 'bench-family-alarm-'));
  const sims = await Promise.all(
    Array.from({ length: BUSES }, () => startGasSimulatorTcp({ units: Array.from({ length: UNITS_PER_BUS }, (_, i) => i + 1) })),
  );
  let rig: Rig | undefined;
  const background = wanderLevels(sims);
  const s = newSeries();
  let eventsPerS: number;
  try {
    rig = await startRig(o, sims, dir);
    const r = rig;
    o.log('family-alarm-latency: warming up (every gas detector polled once)');
    await sleep(POLL_MS * 3);
    await settle(r);
    // One fire and one forced door first, not counted: code paths compiled, connections open.
    // (A lost one still counts as lost.)
    const warm = newSeries(s.lost);
    await attempt(o, warm, () => fireSample(r, warm));
    await settle(r);
    await attempt(o, warm, () => gateSample(r, warm));
    await settle(r);
    const startSeq = r.gw.pipeline.lastSeq;
    const startT = now();
    for (let i = 0; i < samples; i++) {
      await attempt(o, s, () => fireSample(r, s));
      await settle(r);
    }
    o.log(`family-alarm-latency: ${samples} fires (${2 * samples} smoke alarms) done`);
    for (let i = 0; i < samples; i++) {
      await attempt(o, s, () => gateSample(r, s));
      await settle(r);
    }
    o.log(`family-alarm-latency: ${samples} forced doors done`);
    eventsPerS = ((r.gw.pipeline.lastSeq - startSeq) * 1000) / (now() - startT);
  } finally {
    await background.stop();
    await rig?.close();
    await Promise.all(sims.map((x) => x.close()));
    rmSync(dir, { recursive: true, force: true });
  }
  return result(s, eventsPerS);
}

function result(s: Series, eventsPerS: number): SectionResult {
  const sum = (a: number[]) => summarise(Float64Array.from(a));
  const budget = { op: '<=' as const, value: 50, source: 'performance budget: alarm latency p99' };
  const paths: [id: string, name: string, sample: LatencySummary, budgeted: boolean][] = [
    ['smoke-feed', 'smoke uplink published: smoke alarm on the console feed', sum(s.smokeFeed), true],
    ['fire-feed', 'second detector uplink published: confirmed fire on the console feed', sum(s.fireFeed), true],
    ['fire-gates', 'second detector uplink published: door.always-open received by both gates', sum(s.fireGates), false],
    ['gate-feed', 'forced door pushed by the terminal: alarm on the console feed', sum(s.gateFeed), true],
  ];
  const figures: Figure[] = [];
  for (const [id, name, x, budgeted] of paths) {
    figures.push({ id: `${id}-p50`, name: `${name}, p50`, value: Number(fmt(x.p50, 3)), unit: 'ms' });
    figures.push({
      id: `${id}-p99`,
      name: `${name}, p99`,
      value: Number(fmt(x.p99, 3)),
      unit: 'ms',
      ...(budgeted ? { budget } : { summary: true }),
    });
    figures.push({ id: `${id}-max`, name: `${name}, max`, value: Number(fmt(x.max, 3)), unit: 'ms' });
  }
  figures.push({
    id: 'alarms-lost',
    name: 'samples whose alarm or command never arrived (10 s)',
    value: s.lost.length,
    budget: { op: '<=', value: 0, source: 'an alarm is never lost' },
  });
  figures.push({ id: 'background-events-per-s', name: 'background events/s during the samples', value: Math.round(eventsPerS), unit: 'events/s' });
  const row = (family: string, to: string, x: LatencySummary) => [family, to, x.count, fmt(x.p50, 3), fmt(x.p99, 3), fmt(x.max, 3)];
  return {
    figures,
    tables: [
      {
        title: 'Alarm latency (ms) from the device message leaving the simulated device',
        columns: ['family', 'to', 'samples', 'p50', 'p99', 'max'],
        rows: [
          row('smoke-detector', 'event handed to the pipeline', sum(s.smokeIngest)),
          row('smoke-detector', 'smoke alarm on the console feed', sum(s.smokeFeed)),
          row('smoke-detector (2nd of a building)', 'confirmed fire on the console feed', sum(s.fireFeed)),
          row('smoke-detector (2nd of a building)', 'door.always-open at both gates', sum(s.fireGates)),
          row('access-gate', 'event handed to the pipeline', sum(s.gateIngest)),
          row('access-gate', 'forced-door alarm on the console feed', sum(s.gateFeed)),
          ['background', 'gas-detector events/s', fmtInt(eventsPerS), '', '', ''],
        ],
      },
    ],
    ...(s.lost.length ? { notes: s.lost.slice(0, 5).map((l) => `Lost: ${l}`) } : {}),
    method: [
      `The real gateway (journal synchronous=FULL) polls ${BUSES * UNITS_PER_BUS} simulated gas detectors over Modbus TCP (${BUSES} simulators of ${UNITS_PER_BUS} units, poll interval ${POLL_MS} ms) as background load, and serves two LoRaWAN smoke detectors of building F1 (the LoRaWAN simulator publishing ChirpStack v4 JSON uplinks with binary frames to the embedded broker as the network server's account) and three simulated ISAPI access terminals (the building's gate, an exit gate, a third gate) pushing to the driver's listener with Digest authentication.`,
      'Smoke: detector 1 sends an alarm frame (built-in rule `smoke-alarm`), then detector 2 does: its alarm is also the second of the building, so the built-in rule `fire-confirmed` raises a confirmed fire and sends `door.always-open` to the building gate and the exit gate over ISAPI (HTTP, Digest). Gate: the third terminal records a forced door and pushes it (built-in rule `gate-door-forced`; no access-gate rule sends a command).',
      'Latency runs from the simulated device sending (the uplink publish call; the terminal writing its record, which it then pushes) to the driver handing the event to the pipeline, to a WebSocket client receiving `alarm.raised` on the console feed, and to the terminal acting on the `RemoteControlDoor` request (the later of the two gates). One fire and one forced door are run first and not counted (warm-up). Samples run one at a time; between samples the alarms are resolved (the gates resume), the gates are back to normal and the pipeline is not behind.',
    ],
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const quick = process.argv.includes('--quick');
  benchFamilyAlarmLatency({ quick, log: (l) => console.error(l) }).then(
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
