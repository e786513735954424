/**
 * Uplink benchmark: a backlog built while the city broker is down,
 * then drained into a real mosquitto; the drain rate, and the latency of fresh alarms to the
 * city broker while the backlog drains (they must not wait behind it).
 *
 * Runs the real Journal (synchronous FULL) + Pipeline + Uplink. Standalone:
 *   npx tsx scripts/bench/uplink-drain.ts [--events 1000000] [--window 500]
 * or from scripts/bench/run.ts: `await benchUplinkDrain({ events })`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { connect } from 'mqtt';
import { createHarness, ROOT } from '../../gateway/uplink/testing/harness.js';
import { freePort, sleep, startMosquitto } from '../../gateway/uplink/testing/mosquitto.js';

export interface UplinkDrainOptions {
  /** Backlog size (events); default 1,000,000. */
  events?: number;
  /** Uplink in-flight window; default 500 (the config default). */
  inflightWindow?: number;
  /** One fresh alarm every this many ms during the drain; default 20. */
  alarmEveryMs?: number;
  /** Progress lines on stderr. */
  verbose?: boolean;
}

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

export async function benchUplinkDrain(
  opts: UplinkDrainOptions = {},
): Promise<Record<string, number | string>> {
  const total = opts.events ?? 1_000_000;
  const say = (s: string) =>
    opts.verbose &&
    process.stderr.write(`[uplink-drain] ${s} (rss ${Math.round(process.memoryUsage().rss / 1048576)} MB)\n`);
  const dir = mkdtempSync(join(tmpdir(), 'bench-uplink-'));
  const port = await freePort();
  const h = createHarness({
    dbPath: join(dir, 'gateway.db'),
    synchronous: 'FULL',
    logLevel: 'warn',
    devices: 2000,
    uplink: {
      url: `mqtt://127.0.0.1:${port}`,
      backoff: { initialMs: 100, maxMs: 200 },
      outbox: { inflightWindow: opts.inflightWindow ?? 500, maxSizeMB: 100_000 },
      commands: { enabled: false },
    },
  });
  let broker: Awaited<ReturnType<typeof startMosquitto>> | undefined;
  let platform: ReturnType<typeof connect> | undefined;
  let rssPeak = 0;
  const rssTimer = setInterval(() => {
    rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
  }, 200);
  try {
    h.uplink.start();
    // 1. Backlog while the city broker is down: realistic mix, mostly telemetry.
    const t0 = performance.now();
    // Below the pipeline's batch size: a burst beyond it would wait and coalesce (the overload path),
    // and this section measures the uplink, not shedding.
    const batch = 1000;
    for (let done = 0; done < total; ) {
      const n = Math.min(batch, total - done);
      for (let i = 0; i < n; i++) h.emit((done + i) % 50 === 0 ? 'event' : 'telemetry');
      await h.pipeline.committed();
      done += n;
      if (done % 100_000 === 0) say(`backlog ${done}`);
    }
    const buildS = (performance.now() - t0) / 1000;
    const backlog = h.uplink.outbox.totalPending();
    say(`backlog built: ${backlog} rows in ${buildS.toFixed(1)} s`);

    // 2. City broker up, a platform subscriber to alarms; drain and measure.
    broker = await startMosquitto({ dir, port, persistence: false });
    const sent = new Map<string, number>();
    const latencies: number[] = [];
    platform = connect(broker.url, { protocolVersion: 5, clientId: 'bench-platform', reconnectPeriod: 100 });
    platform.on('message', (_t, payload) => {
      const at = performance.now();
      const id = (JSON.parse(payload.toString()) as { id: string }).id;
      const start = sent.get(id);
      if (start !== undefined) {
        latencies.push(at - start);
        sent.delete(id);
      }
    });
    await new Promise<void>((resolve, reject) =>
      platform!.once('connect', () =>
        platform!.subscribe(`${ROOT}/events/+/+/gas.alarm.high`, { qos: 1 }, (e) =>
          e ? reject(e) : resolve(),
        ),
      ),
    );
    for (let i = 0; i < 500 && h.uplink.state !== 'connected'; i++) await sleep(10);
    const tConnected = performance.now();
    const acked0 = h.uplink.outbox.stats().reduce((s, l) => s + l.acked, 0);
    let alarms = 0;
    const alarmTimer = setInterval(() => {
      const env = h.emit('alarm');
      sent.set(env.id, performance.now());
      alarms += 1;
    }, opts.alarmEveryMs ?? 20);
    let lastSay = 0;
    for (;;) {
      // the backlog (events and telemetry lanes); fresh alarms keep coming meanwhile
      const pending = h.uplink.outbox.stats().reduce((s, l) => s + (l.lane === 'alarm' ? 0 : l.pending), 0);
      if (pending === 0) break;
      if (performance.now() - lastSay > 2000) {
        lastSay = performance.now();
        say(`draining: ${pending} pending`);
      }
      await sleep(5);
    }
    const drainS = (performance.now() - tConnected) / 1000;
    const window = h.uplink.stats().window;
    clearInterval(alarmTimer);
    const drained = h.uplink.outbox.stats().reduce((s, l) => s + l.acked, 0) - acked0;
    for (let i = 0; i < 200 && sent.size; i++) await sleep(10);
    const sorted = [...latencies].sort((a, b) => a - b);
    return {
      'uplink.backlog_events': backlog,
      'uplink.backlog_build_events_per_s': Math.round(total / buildS),
      'uplink.drain_s': round(drainS),
      'uplink.drain_events_per_s': Math.round(drained / drainS),
      // the configured window, capped by the city broker's Receive Maximum (mosquitto: max_inflight_messages, default 20)
      'uplink.inflight_window': window,
      'uplink.alarms_during_drain': alarms,
      'uplink.alarms_lost': sent.size,
      'uplink.alarm_latency_p50_ms': round(percentile(sorted, 50)),
      'uplink.alarm_latency_p99_ms': round(percentile(sorted, 99)),
      'uplink.alarm_latency_max_ms': round(sorted.at(-1) ?? Number.NaN),
      'uplink.rss_peak_mb': Math.round(rssPeak / 1024 / 1024),
    };
  } finally {
    clearInterval(rssTimer);
    await platform?.endAsync(true).catch(() => {});
    await h.close().catch(() => {});
    await broker?.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseArgs({ options: { events: { type: 'string' }, window: { type: 'string' } } });
  benchUplinkDrain({
    events: values.events ? Number(values.events) : undefined,
    inflightWindow: values.window ? Number(values.window) : undefined,
    verbose: true,
  }).then(
    (r) => {
      for (const [k, v] of Object.entries(r)) console.log(`${k.padEnd(40)} ${v}`);
    },
    (err) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
