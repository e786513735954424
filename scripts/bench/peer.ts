/**
 * The harness of the peer sections (Node-RED, the relay): a system that does the gateway's gas
 * job in a process of its own, between two loopback aedes brokers run here (the local bus and the
 * city). Device messages come from gas-publisher-child.ts; the measuring subscribers are the
 * pipeline's (subscriber-child.ts). Measured: the same rate sweep as the pipeline, high-gas
 * readings' latency while telemetry is offered at 3x the gateway's capacity, and the system
 * process's RSS (from /proc: the process doing the work, not this harness).
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { Aedes } from 'aedes';
import { topicRoot } from '../../gateway/core/topics.js';
import { REPO } from './build.js';
import { Child } from './ipc.js';
import { type StepDriver, type StepRow, sweep } from './load.js';
import { readStoredResults } from './report.js';
import { fmt, fmtInt, now, sleep, summarise } from './stats.js';
import type { BenchOptions, Figure } from './types.js';

export const ROOT = topicRoot('bench-site', 'bench-gw');
export const ALARM_FILTER = `${ROOT}/events/+/+/gas.alarm.high`;
export const OVERLOAD_FACTOR = 3;
const ALARMS_PER_S = 20;

export interface Broker {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** A bare aedes broker on 127.0.0.1 (free port). */
export async function startAedes(): Promise<Broker> {
  const aedes = await Aedes.createBroker();
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    socket.setNoDelay(true);
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    aedes.handle(socket);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    close: async () => {
      await new Promise<void>((r) => aedes.close(() => r()));
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/**
 * Stops a process this bench started, by its pid: SIGTERM, SIGKILL if it is still running after
 * `graceMs`; resolves once it exited. `exited` is its exit, awaited from before it could happen.
 */
export async function stopProcess(proc: ChildProcess, exited: Promise<void>, graceMs: number): Promise<void> {
  const pid = proc.pid;
  if (pid === undefined) return;
  if (proc.exitCode === null && proc.signalCode === null) process.kill(pid, 'SIGTERM');
  const timer = setTimeout(() => proc.exitCode === null && process.kill(pid, 'SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** RSS now and its peak (VmHWM) of another process, in MB; undefined once it is gone. */
export function procRss(pid: number): { rssMB: number; peakMB: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
    return { rssMB: kb('VmRSS') / 1024, peakMB: kb('VmHWM') / 1024 };
  } catch {
    return undefined;
  }
}

/**
 * The gateway's capacity this run: the overload section's calibration when it ran earlier in this
 * run (run.ts passes its figures), else the last stored run of it in the results file of this run
 * (`--out`, default docs/BENCHMARKS.md), else the
 * pipeline's max sustained rate, else 10,000 events/s. Says where it came from.
 */
export function gatewayCapacity(
  resultsFile = process.env.BENCH_RESULTS_FILE ?? join(REPO, 'docs/BENCHMARKS.md'),
): { rate: number; source: string } {
  const pick = (sections: Record<string, { figures: Figure[] } | undefined>, where: string) => {
    for (const [id, fig] of [['overload', 'capacity'], ['pipeline', 'maxSustained']] as const) {
      const v = sections[id]?.figures.find((f) => f.id === fig)?.value;
      if (typeof v === 'number' && v > 0) return { rate: v, source: `\`${id}\` ${fig} of ${where}` };
    }
    return undefined;
  };
  try {
    const fromRun = pick(JSON.parse(process.env.BENCH_RUN_RESULTS ?? '{}') as Record<string, { figures: Figure[] }>, 'this run');
    if (fromRun) return fromRun;
    const stored = readStoredResults(readFileSync(resultsFile, 'utf8'));
    const sections = Object.fromEntries(
      Object.entries(stored?.sections ?? {}).filter(([, s]) => s.status !== 'failed').map(([id, s]) => [id, s.result]),
    );
    const fromFile = pick(sections, `the stored results (${resultsFile.split('/').slice(-2).join('/')})`);
    if (fromFile) return fromFile;
  } catch {
    // no results yet: the default below
  }
  return { rate: 10_000, source: 'a default (no gateway result in this run or in the results file)' };
}

export interface Running {
  pid: number;
  stop(): Promise<void>;
}

export interface PeerSystem {
  /** Starts the system against the two brokers; resolves once its process runs. */
  start(local: Broker, city: Broker): Promise<Running>;
}

export interface PeerRun {
  /** From spawn to the first event on the bus, ms. */
  firstEventMs: number;
  sweep?: { moderate: StepRow; steps: StepRow[]; best: StepRow | undefined };
  overload: OverloadRun;
  peakRssMB: number;
  rssAtIdleMB: number;
}

export interface OverloadRun {
  capacity: { rate: number; source: string };
  offeredRate: number;
  durationS: number;
  alarms: number;
  alarmsReceived: number;
  waitMs: number;
  p50: number;
  p99: number | string;
  max: number;
  rssSamples: [number, number][];
  rssPeakMB: number;
}

/** Starts the system, waits for its first event, then sweeps and overloads it. */
export async function runPeer(opts: BenchOptions, system: PeerSystem, o: { devices: number; sweep: boolean }): Promise<PeerRun> {
  const local = await startAedes();
  const city = await startAedes();
  let running: Running | undefined;
  const children: Child[] = [];
  try {
    const pub = await Child.start('gas-publisher-child.ts', [local.url, String(o.devices)]);
    children.push(pub);
    const sub = await Child.start('subscriber-child.ts', [local.url, `${ROOT}/events/#`, '1']);
    children.push(sub);
    const alarmSub = await Child.start('subscriber-child.ts', [local.url, ALARM_FILTER, '1']);
    children.push(alarmSub);
    const pubClock = await pub.clockOffset();
    const subClock = await sub.clockOffset();
    const alarmClock = await alarmSub.clockOffset();

    // Cold start: spawn, then one reading every 20 ms until one comes out on the bus (bounded).
    const t0 = now();
    running = await system.start(local, city);
    let firstEventMs = Number.NaN;
    for (const until = t0 + 120_000; now() < until && Number.isNaN(firstEventMs); await sleep(20)) {
      await pub.call({ op: 'ping' });
      const got = await sub.call<{ arrivals: Float64Array }>({ op: 'collect' });
      if (got.arrivals.length) firstEventMs = got.arrivals[0]! - subClock.offset - t0;
    }
    if (Number.isNaN(firstEventMs)) throw new Error('the system passed no message within 120 s of its start');
    opts.log(`  first event on the bus ${fmt(firstEventMs, 0)} ms after spawn (pid ${running.pid})`);
    await sleep(500);
    await sub.call({ op: 'collect' });
    const rssAtIdleMB = procRss(running.pid)?.rssMB ?? Number.NaN;

    const pid = running.pid;
    const offer = async (rate: number, durationMs: number, mix: 'sweep' | 'quiet', alarmsPerS = 0) => {
      const r = await pub.call<{
        offered: number;
        messages: number;
        startT: number;
        endT: number;
        maxLagMs: number;
        base: number;
        t0s: Float64Array;
        alarmSeqs: number[];
      }>({ op: 'offer', rate, durationMs, mix, alarmsPerS }, durationMs + 60_000);
      const off = pubClock.offset;
      return { ...r, startT: r.startT - off, endT: r.endT - off, t0: (id: number) => (id >= r.base && id - r.base < r.t0s.length ? r.t0s[id - r.base]! - off : undefined) };
    };
    let cpuMark = procCpu(pid);
    const driver: StepDriver = {
      offer: (rate, durationMs) => offer(rate, durationMs, 'sweep'),
      rssMB: () => procRss(pid)?.rssMB ?? Number.NaN,
      cpu: () => {
        const c = procCpu(pid);
        const share = (c.cpuMs - cpuMark.cpuMs) / (c.t - cpuMark.t);
        cpuMark = c;
        return share;
      },
    };
    const swept = o.sweep ? await sweep(opts, driver, sub, subClock.offset) : undefined;

    // Overload: telemetry at 3x the gateway's capacity, high-gas readings on their own schedule.
    const capacity = gatewayCapacity();
    const rate = OVERLOAD_FACTOR * capacity.rate;
    const durationMs = opts.quick ? 5_000 : 30_000;
    const waitMs = opts.quick ? 10_000 : 30_000;
    opts.log(`  overload: ${fmtInt(rate)} readings/s for ${durationMs / 1000} s (3x the gateway capacity from ${capacity.source})`);
    await alarmSub.call({ op: 'collect' });
    const rssSamples: [number, number][] = [];
    const startT = now();
    const sampler = setInterval(() => rssSamples.push([(now() - startT) / 1000, procRss(pid)?.rssMB ?? Number.NaN]), 250);
    const r = await offer(rate, durationMs, 'quiet', ALARMS_PER_S);
    // Wait (bounded) for the alarms, and for the backlog to drain before the system is stopped.
    for (const until = now() + waitMs; now() < until; await sleep(50)) {
      const { count } = await alarmSub.call<{ count: number }>({ op: 'count' });
      if (count >= r.alarmSeqs.length) break;
    }
    clearInterval(sampler);
    const got = await alarmSub.call<{ ids: Float64Array; arrivals: Float64Array }>({ op: 'collect' });
    await sub.call({ op: 'collect' });
    const lat: number[] = [];
    const seen = new Set<number>();
    for (let i = 0; i < got.ids.length; i++) {
      const t = r.t0(got.ids[i]!);
      if (t === undefined || seen.has(got.ids[i]!)) continue;
      seen.add(got.ids[i]!);
      lat.push(got.arrivals[i]! - alarmClock.offset - t);
    }
    const s = summarise(Float64Array.from(lat));
    const missing = r.alarmSeqs.length - lat.length;
    const rss = procRss(pid);
    const overload: OverloadRun = {
      capacity,
      offeredRate: Math.round(r.offered / ((r.endT - r.startT) / 1000)),
      durationS: Math.round((r.endT - r.startT) / 100) / 10,
      alarms: r.alarmSeqs.length,
      alarmsReceived: lat.length,
      waitMs,
      p50: round2(s.p50),
      // More than 1% of the alarms not there within the wait: the p99 is beyond the wait.
      p99: missing > r.alarmSeqs.length / 100 ? `> ${fmtInt(waitMs + (r.endT - r.startT))}` : round2(s.p99),
      max: round2(s.max),
      rssSamples: rssSamples.map(([t, m]) => [round2(t), Math.round(m)]),
      rssPeakMB: Math.max(0, ...rssSamples.map(([, m]) => m)),
    };
    opts.log(
      `  offered ${fmtInt(overload.offeredRate)}/s; alarms ${overload.alarmsReceived}/${overload.alarms} on the bus, p50 ${fmt(s.p50)} p99 ${overload.p99} max ${fmt(s.max)} ms; RSS peak ${fmt(overload.rssPeakMB, 0)} MB`,
    );
    return { firstEventMs: round2(firstEventMs), sweep: swept, overload, peakRssMB: Math.round(rss?.peakMB ?? Number.NaN), rssAtIdleMB: Math.round(rssAtIdleMB) };
  } finally {
    for (const c of children.reverse()) await c.stop();
    await running?.stop();
    await local.close();
    await city.close();
  }
}

/** CPU time (user + system) of another process so far, ms, and when it was read. */
function procCpu(pid: number): { cpuMs: number; t: number } {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    // utime and stime are fields 14 and 15 of stat (11 and 12 after the command name), in clock ticks (100/s).
    return { cpuMs: (Number(fields[11]) + Number(fields[12])) * 10, t: now() };
  } catch {
    return { cpuMs: Number.NaN, t: now() };
  }
}

export function round2(v: number): number {
  return Number.isFinite(v) ? Math.round(v * 100) / 100 : Number.NaN;
}
