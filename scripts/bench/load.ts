/**
 * Open-loop load shared by the pipeline and the relay sections: events are offered on a
 * schedule (rate x elapsed time), whatever the system under test does, so a saturated system
 * shows up as a growing backlog (latency) instead of a politely slower generator. Every loop is
 * bounded by its duration and by a per-tick cap.
 */
import type { Child } from './ipc.js';
import { afterAllSweeps, betweenSteps } from './turns.js';
import { fmt, fmtInt, type LatencySummary, now, sleep, summarise } from './stats.js';

export interface OfferResult {
  /** Events offered. */
  offered: number;
  /** Device messages behind them (a message can yield more than one event). */
  messages: number;
  startT: number;
  endT: number;
  /** How far the generator ever fell behind its schedule, in ms (it catches up, bounded per tick). */
  maxLagMs: number;
}

/**
 * Offers `rate` events/s for `durationMs`. `emit()` handles one device message now and returns
 * how many events it offered. Ticks every millisecond (timer), so I/O runs between bursts.
 */
export function openLoop(rate: number, durationMs: number, emit: () => number): Promise<OfferResult> {
  const target = Math.round((rate * durationMs) / 1000);
  const perTickCap = Math.max(1, Math.ceil(rate / 20)); // at most 50 ms of schedule per tick
  return new Promise((resolve) => {
    const startT = now();
    let offered = 0;
    let messages = 0;
    let maxLagMs = 0;
    const tick = () => {
      const elapsed = Math.min(now() - startT, durationMs);
      const due = Math.min(target, Math.floor((elapsed * rate) / 1000));
      let budget = perTickCap;
      while (offered < due && budget > 0) {
        const n = emit();
        messages++;
        offered += n;
        budget -= Math.max(1, n);
      }
      const lag = ((due - offered) / rate) * 1000;
      if (lag > maxLagMs) maxLagMs = lag;
      if (offered >= target) return resolve({ offered, messages, startT, endT: now(), maxLagMs });
      setTimeout(tick, 1);
    };
    setTimeout(tick, 1);
  });
}

export interface StepRow {
  label: string;
  rate: number;
  durationMs: number;
  offered: number;
  received: number;
  /**
   * Telemetry the gateway shed on purpose while behind (coalesced to the latest reading per
   * device and quantity, or dropped oldest first from its full queue): counted, not lost.
   * From the section's `shed` counter (0 when it has none). A rate with shed > 0 is not sustained.
   */
  shed: number;
  /** Events offered, neither received (after the drain wait) nor shed. Must be 0. */
  lost: number;
  /** Events received per second, first offer to last arrival. */
  deliveredPerS: number;
  lat: LatencySummary;
  /** The alarms' own latency, where the section tells which events are alarms. */
  alarmLat?: LatencySummary;
  maxLagMs: number;
  /** Last arrival after the end of the offer, ms. */
  tailMs: number;
  cpuUnderTest: number;
  cpuSubscriber: number;
  rssMB: number;
  sustained: boolean;
  extra: Record<string, number>;
}

/** What a step needs from the section: offer the load and say where each event's t0 is. */
export interface StepDriver {
  /** Offers the load; resolves with the offer and a lookup of each event's device-message time (our clock). */
  offer(
    rate: number,
    durationMs: number,
  ): Promise<OfferResult & { t0: (id: number) => number | undefined; isAlarm?: (id: number) => boolean }>;
  /**
   * Extra per-step counters (e.g. journal rows, publishes), sampled after the drain; reported as
   * deltas in `extra`. A counter named `shed` (events shed on purpose) is not counted as lost.
   */
  counters?(): Record<string, number>;
  rssMB(): number;
  cpu(): number;
}

/** Criteria for a sustained rate: the generator kept up, no backlog built up (p99 bounded), nothing shed. */
export const SUSTAINED = { maxLagMs: 250, p99Ms: 250 };

export async function runStep(
  label: string,
  rate: number,
  durationMs: number,
  driver: StepDriver,
  sub: Child,
  subOffset: number,
): Promise<StepRow> {
  const before = driver.counters?.() ?? {};
  driver.cpu();
  const o = await driver.offer(rate, durationMs);
  // What was shed is known once the offer has settled: the subscriber can only get the rest.
  const shedSoFar = (driver.counters?.().shed ?? 0) - (before.shed ?? 0);
  const expected = o.offered - shedSoFar;
  // Drain: wait (bounded) until the subscriber has everything, or has received nothing new for a second.
  const deadline = now() + 10_000 + durationMs;
  let last = -1;
  let lastChange = now();
  for (;;) {
    const { count } = await sub.call<{ count: number }>({ op: 'count' });
    if (count >= expected || now() > deadline || now() - lastChange > 1_000) break;
    if (count !== last) {
      last = count;
      lastChange = now();
    }
    await sleep(20);
  }
  await sleep(50); // duplicates, if any, would show up now
  const cpuUnderTest = driver.cpu();
  const rssMB = driver.rssMB();
  const got = await sub.call<{ ids: Float64Array; arrivals: Float64Array; count: number; cpu: number }>({
    op: 'collect',
  });
  const after = driver.counters?.() ?? {};
  const extra: Record<string, number> = {};
  for (const k of Object.keys(after)) extra[k] = (after[k] ?? 0) - (before[k] ?? 0);

  const lat = new Float64Array(got.ids.length);
  const alarmLat = new Float64Array(o.isAlarm ? got.ids.length : 0);
  let n = 0;
  let alarms = 0;
  let lastArrival = o.startT;
  const seen = new Set<number>();
  for (let i = 0; i < got.ids.length; i++) {
    const id = got.ids[i]!;
    const t0 = o.t0(id);
    if (t0 === undefined || seen.has(id)) continue;
    seen.add(id);
    const arrival = got.arrivals[i]! - subOffset;
    if (arrival > lastArrival) lastArrival = arrival;
    lat[n++] = arrival - t0;
    if (o.isAlarm?.(id)) alarmLat[alarms++] = arrival - t0;
  }
  const received = n;
  const summary = summarise(lat.subarray(0, n));
  const shed = extra.shed ?? 0;
  const lost = o.offered - received - shed;
  const row: StepRow = {
    label,
    rate,
    durationMs,
    offered: o.offered,
    received,
    shed,
    lost,
    deliveredPerS: received / ((lastArrival - o.startT) / 1000),
    lat: summary,
    ...(o.isAlarm ? { alarmLat: summarise(alarmLat.subarray(0, alarms)) } : {}),
    maxLagMs: o.maxLagMs,
    tailMs: Math.max(0, lastArrival - o.endT),
    cpuUnderTest,
    cpuSubscriber: got.cpu,
    rssMB,
    // Loss is reported on its own (a correctness failure, not a throughput limit). Shedding is the
    // gateway saying it cannot keep up: such a rate is not sustained.
    sustained:
      received > 0 && shed === 0 && o.maxLagMs <= SUSTAINED.maxLagMs && summary.p99 <= SUSTAINED.p99Ms,
    extra,
  };
  return row;
}

/**
 * The rate sweep: a fixed moderate rate first, then increasing rates until one is not
 * sustained twice in a row (bounded by the list: a failed rate is retried once). Between two
 * steps, the sections that take turns (turns.ts) run theirs; after its last step, a section that
 * takes turns goes on once every other section's sweep has ended.
 */
export async function sweep(
  opts: { quick: boolean; log: (l: string) => void },
  driver: StepDriver,
  sub: Child,
  subOffset: number,
): Promise<{ moderate: StepRow; steps: StepRow[]; best: StepRow | undefined }> {
  const moderateMs = opts.quick ? 2_000 : 10_000;
  const stepMs = opts.quick ? 1_000 : 5_000;
  // From 10,000/s up, about a tenth apart, where the ceilings of the three systems lie: a ratio of
  // two maxima is then known to about a tenth (with steps a fifth or a quarter apart, a ratio of
  // ceilings 2.1-2.4 x apart came out as exactly 2 x, run after run).
  const rates = opts.quick
    ? [5_000, 15_000]
    : [3_000, 5_000, 7_500, 10_000, 11_000, 12_500, 14_000, 16_000, 18_000, 20_000, 22_500, 25_000, 27_500, 30_000, 33_000, 36_000, 40_000, 45_000, 50_000];
  const show = (r: StepRow) =>
    opts.log(
      `  ${r.label.padEnd(10)} offered ${fmtInt(r.offered)} received ${fmtInt(r.received)} shed ${fmtInt(r.shed)} lost ${r.lost}` +
        ` | delivered ${fmtInt(r.deliveredPerS)}/s | p50 ${fmt(r.lat.p50)} p99 ${fmt(r.lat.p99)} max ${fmt(r.lat.max)} ms` +
        ` | lag ${fmt(r.maxLagMs, 1)} ms | cpu ${fmt(r.cpuUnderTest)} sub ${fmt(r.cpuSubscriber)} | rss ${fmt(r.rssMB, 0)} MB` +
        `${r.sustained ? '' : ' | NOT sustained'}`,
    );
  // Warm-up (JIT, SQLite cache, connections): not reported.
  await runStep('warm-up', 2_000, opts.quick ? 500 : 2_000, driver, sub, subOffset);
  const moderate = await runStep('2000/s', 2_000, moderateMs, driver, sub, subOffset);
  show(moderate);
  await betweenSteps(0);
  const steps: StepRow[] = [];
  let best: StepRow | undefined;
  for (const rate of rates) {
    let r = await runStep(`${rate}/s`, rate, stepMs, driver, sub, subOffset);
    show(r);
    steps.push(r);
    if (!r.sustained) {
      // One retry, so that a single stall of a shared machine does not end the sweep.
      await betweenSteps(2_000);
      r = await runStep(`${rate}/s retry`, rate, stepMs, driver, sub, subOffset);
      show(r);
      steps.push(r);
      if (!r.sustained) break;
    }
    best = r;
    await betweenSteps(300);
  }
  await afterAllSweeps();
  return { moderate, steps, best };
}

export const STEP_COLUMNS = [
  'offered rate',
  'events',
  'shed',
  'lost',
  'delivered/s',
  'p50 ms',
  'p99 ms',
  'max ms',
  'generator lag ms',
  'CPU under test',
  'CPU subscriber',
  'RSS MB',
  'sustained',
];

export function stepCells(r: StepRow): (string | number)[] {
  return [
    r.label.replace(/^(\d+)\/s/, (_, n: string) => fmtInt(Number(n))),
    fmtInt(r.offered),
    fmtInt(r.shed),
    r.lost,
    fmtInt(r.deliveredPerS),
    fmt(r.lat.p50),
    fmt(r.lat.p99),
    fmt(r.lat.max),
    fmt(r.maxLagMs, 1),
    `${Math.round(r.cpuUnderTest * 100)}%`,
    `${Math.round(r.cpuSubscriber * 100)}%`,
    fmt(r.rssMB, 0),
    r.sustained ? 'yes' : 'no',
  ];
}
