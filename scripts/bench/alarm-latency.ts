/**
 * Bench section `alarm-latency`: from the device message reaching the
 * gateway to (i) the alarm on the local bus (an MQTT subscriber receives `alarm.raised`),
 * (ii) the alarm on the console feed (a WebSocket client receives it), (iii) the linkage
 * command sent (`valve.close` handed to the driver) and its completion (the relay written and
 * read back over Modbus TCP), while 2,000 simulated gas detectors polled over Modbus TCP produce
 * background load, with no uplink and with the uplink down (city broker unreachable).
 *
 * The real gateway (startGateway, journal synchronous=FULL) runs in this process with ten
 * gas-detector simulators (200 units each). "Reaching the gateway" is the moment the driver
 * hands the decoded poll answer to the pipeline (`pipeline.ingest`), timed with a monotonic
 * clock; the poll interval (how long a real detector waits to be polled) is reported apart.
 *
 *   npx tsx scripts/bench/alarm-latency.ts [--quick]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { WebSocket } from 'ws';
import { validateConfig } from '../../config/load.js';
import type { DeviceEvent } from '../../gateway/core/envelope.js';
import { createLogger } from '../../gateway/core/logger.js';
import { startGateway } from '../../gateway/gateway.js';
import { type RunningGasSimulatorTcp, startGasSimulatorTcp } from '../../simulators/gas-detector/index.js';
import { POLLED_FLEET, polledFleetDrivers, wanderLevels } from './gas-load.js';
import { fmt, fmtInt, type LatencySummary, now, sleep, summarise } from './stats.js';
import type { BenchOptions, Figure, SectionResult } from './types.js';
import { freePort } from '../../gateway/core/free-port.js';

const BUSES = POLLED_FLEET.buses;
const { unitsPerBus: UNITS_PER_BUS, pollMs: POLL_MS } = POLLED_FLEET;

interface Scenario {
  id: string;
  title: string;
  uplinkDown: boolean;
}

const SCENARIOS: Scenario[] = [
  { id: 'load', title: '2,000 polled devices, no uplink', uplinkDown: false },
  { id: 'uplink-down', title: '2,000 polled devices, uplink down', uplinkDown: true },
];

interface ScenarioResult {
  bus: LatencySummary;
  feed: LatencySummary;
  sent: LatencySummary;
  done: LatencySummary;
  poll: LatencySummary;
  eventsPerS: number;
  alarms: number;
}

async function runScenario(
  sc: Scenario,
  o: BenchOptions,
  sims: RunningGasSimulatorTcp[],
): Promise<ScenarioResult> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-alarm-'));
  const drivers = polledFleetDrivers(sims, ['kitchen', 'valve']);
  const parsed = validateConfig({
    site: { id: 'bench-site' },
    gateway: { id: 'gw-bench' },
    demo: true, // the bench's subscriber and feed client read anonymously
    log: { level: 'warn' },
    broker: { listeners: [{ type: 'tcp', host: '127.0.0.1', port: 0 }] },
    journal: { path: join(dir, 'gw.db'), synchronous: 'FULL' },
    http: { host: '127.0.0.1', port: 0 },
    drivers,
    ...(sc.uplinkDown ? { uplink: { url: `mqtt://127.0.0.1:${await freePort()}` } } : {}),
  });
  if (!parsed.ok) throw new Error(`bench config: ${JSON.stringify(parsed.problems.slice(0, 3))}`);

  const t0 = new Map<string, number>(); // device -> when its gas.alarm.high reached the gateway
  const trig = new Map<string, number>(); // device -> when the simulator level was raised
  const lat = {
    bus: [] as number[],
    feed: [] as number[],
    sent: [] as number[],
    done: [] as number[],
    poll: [] as number[],
  };
  const seen = new Map<string, Set<string>>();
  const busy = new Set<string>();
  const mark = (device: string, what: 'bus' | 'feed' | 'sent' | 'done', t: number) => {
    const start = t0.get(device);
    if (start === undefined) return;
    const s = seen.get(device) ?? new Set();
    if (s.has(what)) return;
    s.add(what);
    seen.set(device, s);
    lat[what].push(t - start);
  };

  const gw = await startGateway(parsed.config, createLogger('error'), {
    alarmHooks: {
      actionSent: (a) => mark(a.device.id, 'sent', now()),
      actionDone: (x) => mark(x.target, 'done', now()),
    },
  });
  // The device message reaches the gateway when the driver hands its decoded answer to the pipeline.
  const ingest = gw.pipeline.ingest.bind(gw.pipeline);
  gw.pipeline.ingest = (e: DeviceEvent) => {
    if (e.type === 'gas.alarm.high' && busy.has(e.deviceId) && !t0.has(e.deviceId)) {
      const t = now();
      t0.set(e.deviceId, t);
      const s = trig.get(e.deviceId);
      if (s !== undefined) lat.poll.push(t - s);
    }
    return ingest(e);
  };

  const tcp = gw.broker.listeners.find((l) => l.type === 'tcp')!;
  const sub = await mqtt.connectAsync(`mqtt://${tcp.host}:${tcp.port}`, { clientId: 'bench-alarm-sub' });
  await sub.subscribeAsync(`${gw.root}/events/+/+/alarm.raised`, { qos: 1 });
  sub.on('message', (_topic, payload) => {
    const t = now();
    const env = JSON.parse(payload.toString()) as {
      data: { alarm: { rule: string; device: { id: string } } };
    };
    if (env.data.alarm.rule === 'gas-high') mark(env.data.alarm.device.id, 'bus', t);
  });
  const ws = new WebSocket(`${gw.http.url.replace(/^http/, 'ws')}/alarms/feed`);
  const cleared = new Set<string>();
  ws.on('message', (d) => {
    const t = now();
    const m = JSON.parse(d.toString()) as {
      type: string;
      event?: { type: string; data: { alarm: { rule: string; device: { id: string } } } };
    };
    if (m.type !== 'alarm' || !m.event || m.event.data.alarm?.rule !== 'gas-high') return;
    if (m.event.type === 'alarm.raised') mark(m.event.data.alarm.device.id, 'feed', t);
    if (m.event.type === 'alarm.cleared') cleared.add(m.event.data.alarm.device.id);
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });

  const units = sims.flatMap((s, b) =>
    Array.from({ length: UNITS_PER_BUS }, (_, u) => ({
      sim: s.sim,
      unit: u + 1,
      id: `gas-${b + 1}-${u + 1}`,
    })),
  );
  const background = wanderLevels(sims, (id) => busy.has(id));
  o.log(`alarm-latency/${sc.id}: warming up (every detector polled once)`);
  await sleep(POLL_MS * 3);

  const durationMs = o.quick ? 6_000 : 40_000;
  const startSeq = gw.pipeline.lastSeq;
  const startT = now();
  let alarms = 0;
  const triggers = (async () => {
    const end = now() + durationMs;
    while (now() < end) {
      const u = units[Math.floor(Math.random() * units.length)]!;
      if (!busy.has(u.id)) {
        busy.add(u.id);
        t0.delete(u.id);
        seen.delete(u.id);
        cleared.delete(u.id);
        trig.set(u.id, now());
        u.sim.setLel(u.unit, 60); // above the high threshold: gas-high, critical, valve.close
        alarms++;
        void (async () => {
          const until = now() + 10_000;
          while ((seen.get(u.id)?.size ?? 0) < 4 && now() < until) await sleep(20);
          u.sim.setLel(u.unit, 0);
          while (!cleared.has(u.id) && now() < until + 5_000) await sleep(50);
          u.sim.setValve(u.unit, false);
          busy.delete(u.id);
        })();
      }
      await sleep(50); // about 20 alarms/s offered on top of the background
    }
  })();
  await triggers;
  const eventsPerS = ((gw.pipeline.lastSeq - startSeq) * 1000) / (now() - startT);
  while (busy.size) await sleep(50);
  await background.stop();
  sub.end(true);
  ws.close();
  await gw.close();
  rmSync(dir, { recursive: true, force: true });
  const s = (a: number[]) => summarise(Float64Array.from(a));
  return {
    bus: s(lat.bus),
    feed: s(lat.feed),
    sent: s(lat.sent),
    done: s(lat.done),
    poll: s(lat.poll),
    eventsPerS,
    alarms,
  };
}

export async function benchAlarmLatency(o: BenchOptions): Promise<SectionResult> {
  const sims = await Promise.all(
    Array.from({ length: BUSES }, () =>
      startGasSimulatorTcp({ units: Array.from({ length: UNITS_PER_BUS }, (_, i) => i + 1) }),
    ),
  );
  const figures: Figure[] = [];
  const rows: (string | number)[][] = [];
  try {
    for (const sc of SCENARIOS) {
      const r = await runScenario(sc, o, sims);
      const budget = { op: '<=' as const, value: 50, source: 'performance budget: alarm latency p99' };
      for (const [path, name, sum] of [
        ['bus', 'on the local bus', r.bus],
        ['feed', 'on the console feed', r.feed],
        ['cmd', 'linkage command sent', r.sent],
      ] as const) {
        figures.push({
          id: `${sc.id}-${path}-p50`,
          name: `${sc.title}: alarm ${name}, p50`,
          value: Number(fmt(sum.p50, 3)),
          unit: 'ms',
        });
        figures.push({
          id: `${sc.id}-${path}-p99`,
          name: `${sc.title}: alarm ${name}, p99`,
          value: Number(fmt(sum.p99, 3)),
          unit: 'ms',
          budget,
        });
      }
      figures.push({
        id: `${sc.id}-cmd-done-p99`,
        name: `${sc.title}: valve relay written and confirmed over Modbus TCP, p99`,
        value: Number(fmt(r.done.p99, 3)),
        unit: 'ms',
      });
      for (const [label, sum] of [
        ['bus', r.bus],
        ['feed', r.feed],
        ['command sent', r.sent],
        ['command done', r.done],
        ['poll wait (info)', r.poll],
      ] as const) {
        rows.push([sc.title, label, sum.count, fmt(sum.p50, 3), fmt(sum.p99, 3), fmt(sum.max, 3)]);
      }
      rows.push([sc.title, 'background events/s', fmtInt(r.eventsPerS), '', '', '']);
      o.log(
        `alarm-latency/${sc.id}: ${r.alarms} alarms, bus p99 ${fmt(r.bus.p99)} ms, feed p99 ${fmt(r.feed.p99)} ms, command p99 ${fmt(r.sent.p99)} ms, ${fmtInt(r.eventsPerS)} events/s`,
      );
    }
  } finally {
    await Promise.all(sims.map((s) => s.close()));
  }
  return {
    figures,
    tables: [
      {
        title: 'Alarm latency (ms) from the device message reaching the gateway',
        columns: ['scenario', 'to', 'samples', 'p50', 'p99', 'max'],
        rows,
      },
    ],
    method: [
      `The real gateway (journal synchronous=FULL) polls ${BUSES * UNITS_PER_BUS} simulated gas detectors over Modbus TCP (${BUSES} simulators of ${UNITS_PER_BUS} units, one driver per bus, poll interval ${POLL_MS} ms); their levels wander below the alarm threshold so most polls yield a reading (background load).`,
      'About 20 times a second a random detector goes above its high threshold: the built-in rule `gas-high` raises a critical alarm and closes the valve. Latency runs from the driver handing the decoded poll answer to the pipeline to (i) an MQTT subscriber receiving `alarm.raised` on the local broker, (ii) a WebSocket client receiving it on the console feed, (iii) `valve.close` being handed to the driver; "done" adds the Modbus write and read-back. The wait for the next poll (up to the poll interval) is shown apart.',
      'Scenario "uplink down": the same, with the uplink configured to a city broker address where nothing listens.',
    ],
  };
}

/** The figures as a flat record (id -> value), for callers that want plain numbers. */
export function flattenFigures(r: SectionResult): Record<string, number | string> {
  return Object.fromEntries(r.figures.map((f) => [f.id, f.value]));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const quick = process.argv.includes('--quick');
  benchAlarmLatency({ quick, log: (l) => console.error(l) }).then(
    (r) => {
      for (const row of r.tables?.[0]?.rows ?? []) console.log(row.join('\t'));
      console.log(JSON.stringify(flattenFigures(r), null, 2));
      process.exit(0);
    },
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
