/**
 * Section `overload`: the real gateway (startGateway: journal synchronous=FULL,
 * local broker, uplink configured to an unreachable city broker so every event also goes to the
 * outbox) is first calibrated (the highest rate of telemetry it takes with nothing shed and p99
 * bounded), then offered 3x that rate of telemetry from simulated gas detectors for a minute,
 * with a trickle of `gas.alarm.high` alarms ingested as a driver would. Measured: alarm latency
 * from ingest to arrival in a subscriber process, alarms lost or shed (journal, bus, outbox lane 0),
 * telemetry offered / kept / shed (shed must equal offered - kept exactly), peak RSS, that the
 * process survives, and the time to recover (pressure ok, queues empty) once the load stops.
 * Figures only: budgets are compared, nothing is asserted.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DeviceEvent } from '../../gateway/core/envelope.js';
import { createLogger } from '../../gateway/core/logger.js';
import { type Gateway, startGateway } from '../../gateway/gateway.js';
import { timeAlarmPath } from './alarm-path.js';
import { GasFleet } from './gas-load.js';
import { Child } from './ipc.js';
import { openLoop, runStep, type StepDriver, type StepRow } from './load.js';
import { cpuMeter, fmt, fmtInt, markT0, MB, now, rssSampler, sleep, summarise, t0Of } from './stats.js';
import {
  ALARM_TYPE,
  ALARMS_PER_S,
  OVERLOAD_FACTOR,
  overloadResult,
  RECOVERY_WAIT_MS,
  type Sample,
} from './overload-result.js';
import { overloadSite } from './overload-site.js';
import type { BenchOptions, SectionResult } from './types.js';
import { freePort } from '../../gateway/core/free-port.js';

export async function benchOverload(opts: BenchOptions): Promise<SectionResult> {
  const quick = opts.quick;
  const deviceCount = quick ? 2_000 : 4_000;
  const overloadMs = quick ? 5_000 : 60_000;
  const dir = mkdtempSync(join(tmpdir(), 'cg-bench-overload-'));
  const fleet = new GasFleet(deviceCount, { telemetryOnly: true });
  const deviceIds = [...fleet.devices.keys()];
  const config = overloadSite(fleet, dir, await freePort());
  const cpu = cpuMeter();
  const rss = rssSampler(100);
  let gw: Gateway | undefined;
  let consumer: Child | undefined;
  let alarmSub: Child | undefined;
  try {
    gw = await startGateway(config, createLogger('warn'));
    const g = gw;
    const pipeline = g.pipeline;
    const db = g.journal.db;
    // Instrumentation only: each batch's size and time from its post to the journal's writer thread to its answer (committed and fsynced).
    const commits: { rows: number; ms: number }[] = [];
    let recordCommits = false;
    const post = g.journal.post.bind(g.journal);
    g.journal.post = (rows, done) => {
      const t = now();
      post(rows, (err) => {
        if (recordCommits && !err) commits.push({ rows: rows.length, ms: now() - t });
        done(err);
      });
    };
    const rssReadyMB = process.memoryUsage.rss() / MB;
    const url = `mqtt://127.0.0.1:${g.broker.listeners[0]!.port}`;
    // A local consumer of every event (as a local application would be), also the calibration's
    // measuring subscriber; and the alarm subscriber, in its own process, on the alarm topic only.
    consumer = await Child.start('subscriber-child.ts', [url, `${g.root}/events/#`, '1']);
    alarmSub = await Child.start('subscriber-child.ts', [
      url,
      `${g.root}/events/+/+/${ALARM_TYPE}`,
      '1',
    ]);
    const consumerClock = await consumer.clockOffset();
    const alarmClock = await alarmSub.clockOffset();
    opts.log(
      `  ${deviceCount} gas detectors (telemetry only); consumer pid ${consumer.proc.pid}, alarm subscriber pid ${alarmSub.proc.pid} (clock offset ${fmt(alarmClock.offset, 3)} ms, rtt ${fmt(alarmClock.rtt, 3)} ms)`,
    );

    // Telemetry parked while behind is stamped later: its device-message time is kept by its data object.
    let stepT0: { base: number; t0s: Float64Array } | undefined;
    pipeline.onIngested((env) => {
      if (!stepT0) return;
      const t = t0Of(env.data);
      const i = env.seq - stepT0.base;
      if (t !== undefined && i >= 0 && i < stepT0.t0s.length) stepT0.t0s[i] = t;
    });
    let invalid = 0;
    const offerTelemetry = (t: number): number => {
      const res = fleet.poll(new Date(t));
      if (!res.ok) {
        invalid++;
        return 1;
      }
      for (const e of res.events) {
        // Only while calibrating: during the overload the bench keeps nothing per reading.
        if (stepT0) markT0(e.data, t);
        pipeline.ingest(e);
      }
      return res.events.length;
    };

    // ---- 1. Calibration: the capacity of this gateway, in this run ----
    const calibration: StepRow[] = [];
    const driver: StepDriver = {
      async offer(rate, durationMs) {
        const step = {
          base: pipeline.lastSeq + 1,
          t0s: new Float64Array(Math.round((rate * durationMs) / 1000) + 16).fill(Number.NaN),
        };
        stepT0 = step;
        const r = await openLoop(rate, durationMs, () => offerTelemetry(now()));
        await pipeline.committed();
        stepT0 = undefined;
        return {
          ...r,
          t0: (id) => {
            const t = id >= step.base && id - step.base < step.t0s.length ? step.t0s[id - step.base]! : Number.NaN;
            return Number.isNaN(t) ? undefined : t;
          },
        };
      },
      counters: () => ({ journalRows: g.journal.count(), shed: pipeline.shedCount }),
      rssMB: () => {
        const peak = rss.peak() / MB;
        rss.reset();
        return peak;
      },
      cpu,
    };
    const rates = quick
      ? [2_000, 4_000, 8_000]
      : [2_500, 5_000, 7_500, 10_000, 12_500, 15_000, 17_500, 20_000, 25_000, 30_000, 40_000];
    const stepMs = quick ? 1_000 : 3_000;
    await runStep('warm-up', 2_000, quick ? 500 : 2_000, driver, consumer, consumerClock.offset);
    let best: StepRow | undefined;
    for (const rate of rates) {
      let r = await runStep(`${rate}/s`, rate, stepMs, driver, consumer, consumerClock.offset);
      calibration.push(r);
      showStep(opts, r);
      // Up to two retries: on a shared machine one stall can fail a step the gateway would sustain.
      for (let retry = 1; !r.sustained && retry <= 2; retry++) {
        await sleep(1_000);
        r = await runStep(`${rate}/s retry ${retry}`, rate, stepMs, driver, consumer, consumerClock.offset);
        calibration.push(r);
        showStep(opts, r);
      }
      if (!r.sustained) break;
      best = r;
      await sleep(300);
    }
    const capacity = best?.rate ?? rates[0]! / 2;
    const overloadRate = OVERLOAD_FACTOR * capacity;
    opts.log(`  capacity ${fmtInt(capacity)} events/s; offering ${fmtInt(overloadRate)} events/s of telemetry for ${overloadMs / 1000} s`);
    await pipeline.committed();
    await sleep(500);
    await consumer.call({ op: 'collect' });
    await alarmSub.call({ op: 'collect' });

    // ---- 2. Overload: 3x capacity of telemetry, plus alarms ----
    const seqMark = pipeline.lastSeq;
    const shed0 = pipeline.shedCount;
    const rssBaseMB = process.memoryUsage.rss() / MB;
    rss.reset();
    cpu();
    const alarmT0 = new Map<number, number>(); // seq -> ingest time
    // Where an alarm's time goes inside the gateway (the subscriber-child's client id: bench-sub-<pid>).
    const alarmPath = timeAlarmPath(g, `${g.root}/events/+/+/${ALARM_TYPE}`, `bench-sub-${alarmSub.proc.pid}`, alarmT0);
    const alarms: { id: string; seq: number }[] = [];
    let alarmsNotStamped = 0;
    let telemetryOffered = 0;
    const samples: Sample[] = [];
    const startT = now();
    const sample = () =>
      samples.push({
        t: now() - startT,
        ...memory(),
        pressure: pipeline.pressure,
        parked: pipeline.depths.telemetry,
        urgent: pipeline.depths.urgent,
        shed: pipeline.shedCount - shed0,
        lastSeq: pipeline.lastSeq - seqMark,
        offered: telemetryOffered,
      });
    const sampler = setInterval(sample, 100);
    recordCommits = true;
    // Alarms on their own schedule (catching up if the event loop was late), as driver callbacks.
    let alarmsOffered = 0;
    const alarmTimer = setInterval(() => {
      const due = Math.floor(((now() - startT) * ALARMS_PER_S) / 1000);
      while (alarmsOffered < due) {
        const t = now();
        const e: DeviceEvent = {
          deviceId: deviceIds[(alarmsOffered * 7919) % deviceIds.length]!,
          type: ALARM_TYPE,
          kind: 'alarm',
          severity: 'critical',
          deviceTime: null,
          receivedAt: new Date(t),
          data: { lel: 62, lowThreshold: 20, highThreshold: 50, status: 'high', n: alarmsOffered },
        };
        alarmsOffered++;
        const env = pipeline.ingest(e);
        if (!env) {
          alarmsNotStamped++;
          continue;
        }
        alarmT0.set(env.seq, t);
        alarms.push({ id: env.id, seq: env.seq });
      }
    }, 10);
    const offer = await openLoop(overloadRate, overloadMs, () => {
      const n = offerTelemetry(now());
      telemetryOffered += n;
      return n;
    });
    clearInterval(alarmTimer);
    recordCommits = false;
    const stopT = now();
    sample();
    const cpuOverload = cpu();
    const rssPeakMB = rss.peak() / MB;

    // ---- 3. Recovery: pressure ok and every queue empty ----
    const busDepth = async () =>
      (await g.metrics.queueDepth.get()).values.find((v) => v.labels.stage === 'local-bus')?.value ?? 0;
    let okAfterMs: number | undefined;
    let emptyAfterMs: number | undefined;
    while (now() - stopT < RECOVERY_WAIT_MS) {
      const ok = pipeline.pressure === 'ok';
      if (ok && okAfterMs === undefined) okAfterMs = now() - stopT;
      if (ok && pipeline.pendingCount === 0 && (await busDepth()) === 0) {
        emptyAfterMs = now() - stopT;
        break;
      }
      await sleep(5);
    }
    sample();
    clearInterval(sampler);
    await pipeline.committed();

    // Alarms on the bus: wait (bounded) until the subscriber has them all.
    for (const until = now() + 10_000; now() < until; await sleep(20)) {
      const { count } = await alarmSub.call<{ count: number }>({ op: 'count' });
      if (count >= alarms.length) break;
    }
    await sleep(100);
    const got = await alarmSub.call<{ ids: Float64Array; arrivals: Float64Array; cpu: number }>({ op: 'collect' });
    const consumed = await consumer.call<{ count: number; cpu: number }>({ op: 'collect' });

    // ---- 4. Accounting ----
    const lat: number[] = [];
    const onBus = new Set<number>();
    for (let i = 0; i < got.ids.length; i++) {
      const seq = got.ids[i]!;
      const t0 = alarmT0.get(seq);
      if (t0 === undefined || onBus.has(seq)) continue;
      onBus.add(seq);
      lat.push(got.arrivals[i]! - alarmClock.offset - t0);
    }
    const alarmLat = summarise(Float64Array.from(lat));
    const handedLat = summarise(Float64Array.from(alarmPath.handed));
    const brokerLat = summarise(Float64Array.from(alarmPath.inBroker));
    const writtenLat = summarise(Float64Array.from(alarmPath.written));
    const commitLat = summarise(Float64Array.from(commits.map((c) => c.ms)));
    const commitRows = commits.reduce((sum, c) => sum + c.rows, 0);
    const journaled = new Set(
      (
        db.prepare('SELECT id FROM events WHERE seq > ? AND type = ?').all(seqMark, ALARM_TYPE) as { id: string }[]
      ).map((r) => r.id),
    );
    const inOutbox = new Set(
      (
        db.prepare('SELECT event_id AS id FROM outbox WHERE lane = 0 AND seq > ?').all(seqMark) as { id: string }[]
      ).map((r) => r.id),
    );
    const missing = { journal: 0, bus: 0, outbox: 0 };
    let alarmsLost = alarmsNotStamped;
    for (const { id, seq } of alarms) {
      const j = journaled.has(id);
      const b = onBus.has(seq);
      const o = inOutbox.has(id);
      if (!j) missing.journal++;
      if (!b) missing.bus++;
      if (!o) missing.outbox++;
      if (!j || !b || !o) alarmsLost++;
    }
    const kept = (
      db.prepare("SELECT COUNT(*) AS n FROM events WHERE seq > ? AND kind = 'telemetry'").get(seqMark) as { n: number }
    ).n;
    const shed = pipeline.shedCount - shed0;
    const shedExact = shed === telemetryOffered - kept;
    const durationS = (offer.endT - offer.startT) / 1000;
    const offeredRate = telemetryOffered / durationS;
    const keptRate = kept / durationS;
    const seqs = db.prepare('SELECT MIN(seq) AS lo, MAX(seq) AS hi, COUNT(*) AS n FROM events WHERE seq > ?').get(seqMark) as {
      lo: number;
      hi: number;
      n: number;
    };
    const contiguous = seqs.n === 0 || seqs.hi - seqs.lo + 1 === seqs.n;
    const behindShare = samples.filter((s) => s.pressure !== 'ok').length / Math.max(1, samples.length);
    const maxParked = Math.max(0, ...samples.map((s) => s.parked));
    const kernelPeakMB = process.resourceUsage().maxRSS / 1024;
    opts.log(
      `  offered ${fmtInt(telemetryOffered)} telemetry (${fmtInt(offeredRate)}/s) + ${alarmsOffered} alarms; kept ${fmtInt(kept)}, shed ${fmtInt(shed)} (exact: ${shedExact}); ` +
        `alarm p50 ${fmt(alarmLat.p50)} p99 ${fmt(alarmLat.p99)} max ${fmt(alarmLat.max)} ms; lost ${alarmsLost}; RSS peak ${fmt(rssPeakMB, 0)} MB; ` +
        `recovered in ${emptyAfterMs === undefined ? 'n/a' : fmt(emptyAfterMs, 0)} ms`,
    );

    return overloadResult({
      deviceCount,
      overloadMs,
      stepMs,
      calibration,
      best,
      capacity,
      overloadRate,
      offer,
      durationS,
      offeredRate,
      keptRate,
      alarmsOffered,
      alarmsNotStamped,
      alarmsLost,
      missing,
      telemetryOffered,
      kept,
      shed,
      shedExact,
      contiguous,
      seqs,
      okAfterMs,
      emptyAfterMs,
      invalid,
      alarmLat,
      handedLat,
      brokerLat,
      writtenLat,
      commitLat,
      commits,
      commitRows,
      consumedCount: consumed.count,
      behindShare,
      maxParked,
      rssReadyMB,
      rssBaseMB,
      rssPeakMB,
      kernelPeakMB,
      cpuOverload,
      samples,
    });
  } finally {
    rss.stop();
    await alarmSub?.stop();
    await consumer?.stop();
    await gw?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function showStep(opts: BenchOptions, r: StepRow): void {
  opts.log(
    `  ${r.label.padEnd(12)} offered ${fmtInt(r.offered)} received ${fmtInt(r.received)} shed ${fmtInt(r.shed)} lost ${r.lost}` +
      ` | p50 ${fmt(r.lat.p50)} p99 ${fmt(r.lat.p99)} ms | lag ${fmt(r.maxLagMs, 1)} ms | cpu ${fmt(r.cpuUnderTest)} sub ${fmt(r.cpuSubscriber)}` +
      `${r.sustained ? '' : ' | NOT sustained'}`,
  );
}

function memory(): { rssMB: number; heapMB: number; heapTotalMB: number; externalMB: number } {
  const m = process.memoryUsage();
  return { rssMB: m.rss / MB, heapMB: m.heapUsed / MB, heapTotalMB: m.heapTotal / MB, externalMB: m.external / MB };
}
