/**
 * `npm run soak`: the gateway at compound rate for hours, the city broker going away every few
 * minutes, sampled every 10 s; writes docs/reliability/soak.json (figures, slopes per hour by
 * linear regression, and the series).
 *
 *   npm run soak -- --hours 1 [--rate 100] [--devices 2000] [--poll-ms 2000] [--flap-every-min 5]
 *   npm run soak -- --minutes 10
 *
 * Sampled from outside the gateway process: RSS (/proc/<pid>/status), open file descriptors
 * (/proc/<pid>/fd), CPU (/proc/<pid>/stat), the SQLite file and its WAL; from its /metrics: the
 * event-loop delay p99 of each 10 s window (prom-client resets its histogram at every scrape),
 * the journal's last seq and the uplink backlog. At the end the load stops, the outbox drains
 * and every journaled event is checked at the city broker (no loss, seq contiguous).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { finish } from './chaos-runs.js';
import { commandLine, parseOptions, recordRun, type RunOutcome, runCommand } from './results.js';
import { metric, Rig, sleep } from './rig.js';

const log = (line: string) => process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);

interface Sample {
  t: number;
  rssMB: number;
  fds: number;
  cpuPct: number;
  loopP99ms: number;
  loopMaxMs: number;
  dbMB: number;
  walMB: number;
  lastSeq: number;
  backlog: number;
  linkUp: number;
}

const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
const fileMB = (f: string) => {
  try {
    return statSync(f).size / 1024 ** 2;
  } catch {
    return 0;
  }
};

/** Least-squares slope of y over t (seconds), per hour. */
export function slopePerHour(t: number[], y: number[]): number {
  const n = t.length;
  if (n < 2) return 0;
  const mt = t.reduce((a, b) => a + b, 0) / n;
  const my = y.reduce((a, b) => a + b, 0) / n;
  let cov = 0;
  let vt = 0;
  for (let i = 0; i < n; i++) {
    cov += (t[i]! - mt) * (y[i]! - my);
    vt += (t[i]! - mt) ** 2;
  }
  return vt ? (cov / vt) * 3600 : 0;
}

const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! : 0;
};

function cpuTicks(pid: number): number {
  // fields after the command name: utime is the 14th and stime the 15th field of the line
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
}

async function soak(o: {
  durationMs: number;
  rate: number;
  devices: number;
  pollMs: number;
  flapEveryMs: number;
  downMs: number;
  sampleMs: number;
  alarmEveryMs: number;
  seed: number;
  keep: boolean;
}): Promise<RunOutcome> {
  const unitsPerBus = 200;
  const buses = Math.ceil(o.devices / unitsPerBus);
  const rig = new Rig({
    buses,
    unitsPerBus: Math.ceil(o.devices / buses),
    pollIntervalMs: o.pollMs,
    seed: o.seed,
    keep: o.keep,
    log,
  });
  const failures: string[] = [];
  const samples: Sample[] = [];
  let flaps = 0;
  try {
    await rig.start();
    const gw = await rig.startGateway();
    rig.load.start(o.rate, { alarmEveryMs: o.alarmEveryMs, alarmHoldMs: 10_000 });
    const t0 = Date.now();
    const hz = 100; // USER_HZ on Linux
    let lastCpu = cpuTicks(gw.pid);
    let lastT = t0;
    let nextFlap = t0 + o.flapEveryMs;
    let downUntil = 0;
    await metric(gw.opsUrl, 'gateway_process_nodejs_eventloop_lag_p99_seconds'); // resets the window
    while (Date.now() - t0 < o.durationMs) {
      await sleep(Math.min(o.sampleMs, 1000));
      const now = Date.now();
      if (gw.proc.child.exitCode !== null || gw.proc.child.signalCode !== null) {
        failures.push(`the gateway exited during the soak: ${gw.proc.stderr().slice(-1500)}`);
        break;
      }
      // flapping: down for downMs every flapEveryMs
      if (!downUntil && now >= nextFlap) {
        await rig.down('SIGTERM');
        downUntil = now + o.downMs;
      } else if (downUntil && now >= downUntil) {
        await rig.up();
        flaps += 1;
        downUntil = 0;
        nextFlap = now + o.flapEveryMs;
      }
      if (now - lastT < o.sampleMs) continue;
      const text = await (await fetch(`${gw.opsUrl}/metrics`)).text();
      const m = (name: string) => {
        let sum = 0;
        for (const line of text.split('\n'))
          if (line.startsWith(name) && (line[name.length] === ' ' || line[name.length] === '{'))
            sum += Number(line.slice(line.lastIndexOf(' ') + 1)) || 0;
        return sum;
      };
      const status = readFileSync(`/proc/${gw.pid}/status`, 'utf8');
      const rssKB = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
      const cpu = cpuTicks(gw.pid);
      const s: Sample = {
        t: (now - t0) / 1000,
        rssMB: rssKB / 1024,
        fds: readdirSync(`/proc/${gw.pid}/fd`).length,
        cpuPct: ((cpu - lastCpu) / hz / ((now - lastT) / 1000)) * 100,
        loopP99ms: m('gateway_process_nodejs_eventloop_lag_p99_seconds') * 1000,
        loopMaxMs: m('gateway_process_nodejs_eventloop_lag_max_seconds') * 1000,
        dbMB: fileMB(rig.dbPath),
        walMB: fileMB(`${rig.dbPath}-wal`),
        lastSeq: m('gateway_journal_last_seq'),
        backlog: m('gateway_uplink_backlog'),
        linkUp: m('gateway_uplink_link_up'),
      };
      lastCpu = cpu;
      lastT = now;
      samples.push(s);
      if (samples.length % 6 === 1)
        log(
          `t=${Math.round(s.t)} s rss ${round(s.rssMB, 1)} MB fds ${s.fds} cpu ${Math.round(s.cpuPct)} % loop p99 ${round(s.loopP99ms, 1)} ms db ${round(s.dbMB, 1)} MB wal ${round(s.walMB, 1)} MB seq ${s.lastSeq} backlog ${s.backlog} link ${s.linkUp ? 'up' : 'down'}`,
        );
    }
    const sessions = new Set(rig.city.onlineSessions).size;
    const loadS = (Date.now() - t0) / 1000;
    if (!rig.brokerUp) await rig.up();
    const exit = await rig.kill(gw.proc, 'SIGTERM');
    if (exit.code !== 0 && !failures.length)
      failures.push(`the gateway's clean stop exited with ${exit.code ?? exit.signal}`);
    const end = await finish(rig, { drainTimeoutMs: 300_000 });
    failures.push(...end.failures);
    const c = end.check;

    // slopes after a warm-up (10 % of the run, at least 60 s): start-up growth is not a leak
    const warm = Math.max(60, (o.durationMs / 1000) * 0.1);
    const steady = samples.filter((s) => s.t >= warm);
    const ts = steady.map((s) => s.t);
    const slope = (k: keyof Sample) => round(slopePerHour(ts, steady.map((s) => s[k])), 2);
    const col = (k: keyof Sample) => samples.map((s) => s[k]);
    const first = steady[0];
    const last = steady.at(-1);
    const fdGrowth = first && last ? last.fds - first.fds : 0;
    if (fdGrowth > 50) failures.push(`open file descriptors grew by ${fdGrowth} after the warm-up`);
    const step = Math.max(1, Math.ceil(samples.length / 240));
    const columns = ['t s', 'rss MB', 'fds', 'cpu %', 'loop p99 ms', 'db MB', 'wal MB', 'seq', 'backlog', 'link up'];
    return {
      failures,
      figures: {
        'duration min': round(loadS / 60, 1),
        devices: buses * Math.ceil(o.devices / buses),
        'poll interval ms': o.pollMs,
        'events journaled': c.journaled,
        'events/s (average)': Math.round(c.journaled / loadS),
        'alarms raised': c.alarmsRaised,
        'broker outages': flaps,
        'uplink reconnects': Math.max(0, sessions - 1),
        lost: c.lost,
        'seq gaps': c.journalSeqGaps,
        'duplicates at the city broker (same id)': c.duplicates,
        'samples': samples.length,
        'RSS MB after warm-up / end / max': `${round(first?.rssMB ?? 0, 1)} / ${round(last?.rssMB ?? 0, 1)} / ${round(Math.max(...col('rssMB')), 1)}`,
        'RSS slope MB/h': slope('rssMB'),
        // a short run's slope is mostly warm-up; the second half shows whether RSS levelled off
        'RSS slope MB/h, second half': round(
          slopePerHour(
            steady.slice(Math.floor(steady.length / 2)).map((s) => s.t),
            steady.slice(Math.floor(steady.length / 2)).map((s) => s.rssMB),
          ),
          2,
        ),
        'fds after warm-up / end / max': `${first?.fds ?? 0} / ${last?.fds ?? 0} / ${Math.max(...col('fds'))}`,
        'fds slope /h': slope('fds'),
        'event-loop delay p99 ms, median / max of 10 s windows': `${round(percentile(col('loopP99ms'), 50), 1)} / ${round(Math.max(...col('loopP99ms')), 1)}`,
        'event-loop delay max ms': round(Math.max(...col('loopMaxMs')), 1),
        'gateway CPU % (average)': round(col('cpuPct').reduce((a, b) => a + b, 0) / Math.max(1, samples.length), 1),
        'SQLite file MB at end': round(last?.dbMB ?? 0, 1),
        'SQLite file slope MB/h': slope('dbMB'),
        'SQLite bytes per event': c.journaled ? Math.round(((last?.dbMB ?? 0) * 1024 ** 2) / c.journaled) : 0,
        'WAL max MB': round(Math.max(...col('walMB')), 1),
        'WAL slope MB/h': slope('walMB'),
        seed: o.seed,
      },
      notes: [
        `${buses} Modbus TCP buses of simulated gas detectors (${o.devices} devices) polled every ${o.pollMs} ms, ~${o.rate} level changes/s, a high gas alarm every ${o.alarmEveryMs / 1000} s (held 10 s); the gateway is the real \`gateway start\` run from the sources with tsx (its RSS includes the TypeScript loader).`,
        `the city broker (mosquitto) is stopped by its pid for ${o.downMs / 1000} s every ${round(o.flapEveryMs / 60_000, 1)} min; the journal keeps every event (30-day retention), so the SQLite file grows with the events by design: the bytes per event say by how much.`,
        `slopes are least-squares fits of the samples taken after a ${Math.round(warm)} s warm-up; the event-loop delay is prom-client's monitorEventLoopDelay, reset at every 10 s scrape.`,
      ],
      series: {
        columns,
        rows: samples
          .filter((_, i) => i % step === 0 || i === samples.length - 1)
          .map((s) => [
            Math.round(s.t),
            round(s.rssMB, 1),
            s.fds,
            round(s.cpuPct, 1),
            round(s.loopP99ms, 2),
            round(s.dbMB, 2),
            round(s.walMB, 2),
            s.lastSeq,
            s.backlog,
            s.linkUp,
          ]),
      },
    };
  } finally {
    await rig.close();
  }
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const o = parseOptions(argv, {
    hours: 'number',
    minutes: 'number',
    rate: 'number',
    devices: 'number',
    'poll-ms': 'number',
    'flap-every-min': 'number',
    'down-s': 'number',
    'sample-s': 'number',
    'alarm-every-s': 'number',
    seed: 'number',
    keep: 'boolean',
  });
  const minutes = o.minutes !== undefined ? Number(o.minutes) : Number(o.hours ?? 1) * 60;
  if (!(minutes > 0)) throw new Error('give --hours or --minutes (more than 0)');
  const devices = Math.floor(Number(o.devices ?? 2000));
  if (devices < 1) throw new Error('--devices must be at least 1');
  const seed = o.seed !== undefined ? Math.floor(Number(o.seed)) : Math.floor(Math.random() * 2 ** 31);
  const cfg = {
    durationMs: minutes * 60_000,
    rate: Number(o.rate ?? 100),
    devices,
    pollMs: Math.max(100, Number(o['poll-ms'] ?? 2000)),
    flapEveryMs: Number(o['flap-every-min'] ?? Math.min(5, Math.max(1, minutes / 4))) * 60_000,
    downMs: Number(o['down-s'] ?? 20) * 1000,
    sampleMs: Math.max(1, Number(o['sample-s'] ?? 10)) * 1000,
    alarmEveryMs: Math.max(1, Number(o['alarm-every-s'] ?? 30)) * 1000,
    seed,
    keep: o.keep === true,
  };
  log(
    `soak: ${minutes} min, ${devices} devices polled every ${cfg.pollMs} ms, ~${cfg.rate} changes/s, broker down ${cfg.downMs / 1000} s every ${cfg.flapEveryMs / 60_000} min (seed ${seed})`,
  );
  const r = await recordRun(
    {
      id: 'soak',
      title: 'Soak: compound load with the city broker going away',
      command: commandLine('soak', 'scripts/reliability/soak.ts', argv),
    },
    () => soak(cfg),
    { log },
  );
  log(JSON.stringify(r.figures, null, 1));
  return r.status === 'passed' ? 0 : 1;
}

runCommand('soak', main);
