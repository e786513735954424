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
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateConfig } from '../../config/load.js';
import type { DeviceEvent } from '../../gateway/core/envelope.js';
import { createLogger } from '../../gateway/core/logger.js';
import { type Gateway, startGateway } from '../../gateway/gateway.js';
import { GasFleet } from './gas-load.js';
import { Child } from './ipc.js';
import { openLoop, runStep, STEP_COLUMNS, type StepDriver, type StepRow, stepCells, SUSTAINED } from './load.js';
import { cpuMeter, fmt, fmtInt, MB, now, rssSampler, sleep, summarise } from './stats.js';
import type { BenchOptions, Figure, SectionResult } from './types.js';
import { freePort } from '../../gateway/core/free-port.js';

const PER_DRIVER = 200;
const ALARMS_PER_S = 20;
const OVERLOAD_FACTOR = 3;
const ALARM_TYPE = 'gas.alarm.high';
/** How long the section waits for the gateway to recover before it gives up measuring. */
const RECOVERY_WAIT_MS = 120_000;

function siteConfig(fleet: GasFleet, dir: string, uplinkPort: number) {
  const refs = [...fleet.devices.values()];
  const drivers = [];
  for (let d = 0; d * PER_DRIVER < refs.length; d++) {
    drivers.push({
      family: 'gas-detector',
      id: `gas-line-${d + 1}`,
      enabled: false, // the inventory exists; events come from the bench, as a driver would emit them
      transport: { type: 'tcp', host: '127.0.0.1', port: 1 },
      devices: refs.slice(d * PER_DRIVER, (d + 1) * PER_DRIVER).map((r, i) => ({
        id: r.id,
        unitId: i + 1,
        building: r.building,
        zone: r.zone,
        tags: r.tags,
      })),
    });
  }
  const parsed = validateConfig({
    site: { id: 'bench-site' },
    gateway: { id: 'bench-gw' },
    demo: true, // the bench's subscribers read anonymously
    log: { level: 'warn' },
    broker: { listeners: [{ type: 'tcp', host: '127.0.0.1', port: 0 }] },
    journal: {
      path: join(dir, 'gw.db'),
      synchronous: 'FULL',
      retention: { maxAgeDays: 30, maxSizeMB: 64 * 1024 },
    },
    http: { host: '127.0.0.1', port: 0 },
    alarms: { builtinRules: false },
    // Nothing listens there: every event also stays in the outbox.
    uplink: { url: `mqtt://127.0.0.1:${uplinkPort}`, backoff: { initialMs: 60_000, maxMs: 60_000 } },
    drivers,
  });
  if (!parsed.ok) throw new Error(`bench config: ${JSON.stringify(parsed.problems.slice(0, 3))}`);
  return parsed.config;
}

interface Sample {
  t: number;
  rssMB: number;
  heapMB: number;
  heapTotalMB: number;
  externalMB: number;
  pressure: string;
  parked: number;
  urgent: number;
  shed: number;
  lastSeq: number;
  offered: number;
}

export async function benchOverload(opts: BenchOptions): Promise<SectionResult> {
  const quick = opts.quick;
  const deviceCount = quick ? 2_000 : 4_000;
  const overloadMs = quick ? 5_000 : 60_000;
  const dir = mkdtempSync(join(tmpdir(), 'cg-bench-overload-'));
  const fleet = new GasFleet(deviceCount, { telemetryOnly: true });
  const deviceIds = [...fleet.devices.keys()];
  const config = siteConfig(fleet, dir, await freePort());
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
    // Instrumentation only: each group commit's size and time (synchronous=FULL waits for fsync).
    const commits: { rows: number; ms: number }[] = [];
    let recordCommits = false;
    const append = g.journal.append.bind(g.journal);
    g.journal.append = (rows) => {
      const t = now();
      try {
        append(rows);
      } finally {
        if (recordCommits) commits.push({ rows: rows.length, ms: now() - t });
      }
    };
    const rssReadyMB = process.memoryUsage.rss() / MB;
    const url = `mqtt://127.0.0.1:${g.broker.listeners[0]!.port}`;
    // A local consumer of every event (as a local application would be), also the calibration's
    // measuring subscriber; and the alarm subscriber, in its own process, on the alarm topic only.
    consumer = await Child.start(new URL('./subscriber-child.ts', import.meta.url), [url, `${g.root}/events/#`, '1']);
    alarmSub = await Child.start(new URL('./subscriber-child.ts', import.meta.url), [
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
    const t0ByData = new WeakMap<object, number>();
    let stepT0: { base: number; t0s: Float64Array } | undefined;
    pipeline.onIngested((env) => {
      if (!stepT0) return;
      const t = t0ByData.get(env.data);
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
        if (stepT0) t0ByData.set(e.data, t);
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
    // Where an alarm's time goes: ingest -> handed to the local bus (after its group commit) -> subscriber.
    const alarmHanded: number[] = [];
    // ... -> delivered by the broker's emitter (an in-process subscription: after the local-bus window
    // and aedes' own queue, before any socket) -> the subscriber process.
    const alarmInBroker: number[] = [];
    g.broker.aedes.subscribe(
      `${g.root}/events/+/+/${ALARM_TYPE}`,
      (packet, done) => {
        const t = now();
        try {
          const t0 = alarmT0.get((JSON.parse(packet.payload.toString()) as { seq: number }).seq);
          if (t0 !== undefined) alarmInBroker.push(t - t0);
        } catch {
          // not an envelope: not ours to time
        }
        done();
      },
      () => {},
    );
    pipeline.onDelivered((env) => {
      const t0 = env.kind === 'alarm' ? alarmT0.get(env.seq) : undefined;
      if (t0 !== undefined) alarmHanded.push(now() - t0);
    });
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
    const handedLat = summarise(Float64Array.from(alarmHanded));
    const brokerLat = summarise(Float64Array.from(alarmInBroker));
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

    const notes: string[] = [];
    if (!best) notes.push(`no calibration rate was sustained: capacity taken as ${fmtInt(capacity)} events/s (half the lowest rate tried)`);
    else if (best === calibration.at(-1))
      notes.push(`every calibration rate was sustained: the capacity (${fmtInt(capacity)} events/s) is a lower bound, so the overload is at most ${OVERLOAD_FACTOR}x`);
    const stopper = calibration.at(-1);
    if (stopper && !stopper.sustained && stopper.shed === 0)
      notes.push(
        `the calibration stopped at ${stopper.label} on latency or generator lag (p99 ${fmt(stopper.lat.p99, 0)} ms, lag ${fmt(stopper.maxLagMs, 0)} ms), with nothing shed: ` +
          'the event loop stalled rather than the gateway falling behind, so the capacity may be underestimated on a busy machine',
      );
    notes.push(
      `load average of the machine (shared) at the end of the overload: ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' / ')} on ${availableParallelism()} cores`,
    );
    if (offeredRate < overloadRate * 0.95)
      notes.push(
        `the load generator (same process and event loop as the gateway, as drivers are) reached ${fmtInt(offeredRate)} events/s, ${fmt(offeredRate / capacity, 2)}x capacity rather than ${OVERLOAD_FACTOR}x (generator lag up to ${fmt(offer.maxLagMs, 0)} ms)`,
      );
    if (offeredRate / Math.max(1, keptRate) < OVERLOAD_FACTOR * 0.8)
      notes.push(
        `offered / kept was only ${fmt(offeredRate / Math.max(1, keptRate), 2)}x: during the overload the gateway kept ${fmtInt(keptRate)} events/s, more than the calibrated capacity, so this run overloaded it less than ${OVERLOAD_FACTOR}x of what it could then do`,
      );
    if (alarmsOffered < (ALARMS_PER_S * overloadMs) / 1000 - 1)
      notes.push(`${alarmsOffered} alarms were offered (${ALARMS_PER_S}/s scheduled over ${overloadMs / 1000} s): the alarm timer was late`);
    if (!shedExact)
      notes.push(`shed (${fmtInt(shed)}) != offered - kept (${fmtInt(telemetryOffered)} - ${fmtInt(kept)} = ${fmtInt(telemetryOffered - kept)})`);
    if (alarmsLost)
      notes.push(
        `alarms missing: ${missing.journal} from the journal, ${missing.bus} from the bus subscriber, ${missing.outbox} from the outbox alarm lane; ${alarmsNotStamped} not stamped at ingest`,
      );
    if (!contiguous) notes.push(`seq is not contiguous over the overload (${seqs.n} rows for ${seqs.lo}..${seqs.hi})`);
    if (emptyAfterMs === undefined)
      notes.push(`the gateway had not recovered (pressure ok, queues empty) ${RECOVERY_WAIT_MS / 1000} s after the load stopped`);
    if (invalid) notes.push(`${invalid} device messages failed normalise`);

    const figures: Figure[] = [
      { id: 'devices', name: 'simulated gas detectors', value: deviceCount },
      {
        id: 'capacity',
        name: 'capacity (calibrated in this run: nothing shed, p99 bounded)',
        value: capacity,
        unit: 'events/s',
        summary: true,
      },
      { id: 'offeredRate', name: 'telemetry offered during the overload', value: Math.round(offeredRate), unit: 'events/s' },
      {
        id: 'overloadFactor',
        name: 'offered / capacity',
        value: Math.round((offeredRate / capacity) * 100) / 100,
        unit: 'x',
        summary: true,
      },
      { id: 'overloadS', name: 'overload duration', value: Math.round(durationS * 10) / 10, unit: 's' },
      { id: 'completed', name: 'gateway survived the overload (section finished)', value: 'yes', summary: true },
      { id: 'alarmsOffered', name: 'alarms offered during the overload', value: alarmsOffered, unit: 'alarms' },
      { id: 'alarmP50', name: 'alarm latency under overload, p50', value: round2(alarmLat.p50), unit: 'ms' },
      {
        id: 'alarmP99',
        name: 'alarm latency under overload, p99',
        value: round2(alarmLat.p99),
        unit: 'ms',
        budget: { op: '<=', value: 50, source: 'performance budget: alarms keep their latency budget under overload' },
      },
      { id: 'alarmMax', name: 'alarm latency under overload, max', value: round2(alarmLat.max), unit: 'ms' },
      {
        id: 'alarmHandedP99',
        name: 'of which ingest to hand-over to the local bus (group commit done), p99',
        value: round2(handedLat.p99),
        unit: 'ms',
      },
      {
        id: 'alarmHandedMax',
        name: 'of which ingest to hand-over to the local bus, max',
        value: round2(handedLat.max),
        unit: 'ms',
      },
      {
        id: 'alarmBrokerP99',
        name: 'of which ingest to delivery by the broker (in-process subscription), p99',
        value: round2(brokerLat.p99),
        unit: 'ms',
      },
      {
        id: 'alarmBrokerMax',
        name: 'of which ingest to delivery by the broker, max',
        value: round2(brokerLat.max),
        unit: 'ms',
      },
      {
        id: 'commits',
        name: 'group commits during the overload',
        value: `${fmtInt(commits.length)} (${fmt(commitRows / Math.max(1, commits.length), 0)} rows each on average; p50 ${fmt(commitLat.p50, 1)} ms, p99 ${fmt(commitLat.p99, 1)} ms, max ${fmt(commitLat.max, 1)} ms)`,
      },
      {
        id: 'alarmsLost',
        name: 'alarms lost (not journaled, not on the bus or not in the outbox alarm lane)',
        value: alarmsLost,
        unit: 'alarms',
        budget: { op: '<=', value: 0, source: 'performance budget: alarms never shed' },
      },
      {
        id: 'alarmsShed',
        name: 'alarms shed (not stamped at ingest)',
        value: alarmsNotStamped,
        unit: 'alarms',
        budget: { op: '<=', value: 0, source: 'performance budget: alarms never shed' },
      },
      { id: 'telemetryOffered', name: 'telemetry offered', value: telemetryOffered, unit: 'events' },
      { id: 'telemetryKept', name: 'telemetry kept (journal rows)', value: kept, unit: 'events' },
      { id: 'telemetryShed', name: 'telemetry shed (counted by the gateway)', value: shed, unit: 'events' },
      { id: 'keptRate', name: 'telemetry kept per second during the overload', value: Math.round(keptRate), unit: 'events/s' },
      {
        id: 'offeredOverKept',
        name: 'offered / kept during the overload (how far past what it then did)',
        value: Math.round((offeredRate / Math.max(1, keptRate)) * 100) / 100,
        unit: 'x',
        summary: true,
      },
      {
        id: 'shedMismatch',
        name: 'shed - (offered - kept) (exact accounting)',
        value: shed - (telemetryOffered - kept),
        unit: 'events',
        budget: { op: '<=', value: 0, source: 'performance budget: the rest counted as shed' },
      },
      { id: 'telemetryOnBus', name: 'events the local consumer received during the overload', value: consumed.count, unit: 'events' },
      { id: 'behindShare', name: 'share of the overload spent behind', value: `${Math.round(behindShare * 100)}%` },
      { id: 'maxParked', name: 'telemetry waiting for a commit, max', value: maxParked, unit: 'readings' },
      { id: 'rssReady', name: 'RSS with the gateway ready, before any load', value: Math.round(rssReadyMB), unit: 'MB' },
      { id: 'rssBase', name: 'RSS before the overload (after the calibration)', value: Math.round(rssBaseMB), unit: 'MB' },
      {
        id: 'rssPeak',
        name: 'peak RSS during the overload (sampled every 100 ms)',
        value: Math.round(rssPeakMB),
        unit: 'MB',
        budget: { op: '<=', value: 200, source: 'performance budget: peak RSS' },
      },
      { id: 'rssKernelPeak', name: 'peak RSS of the section process (kernel, whole section)', value: Math.round(kernelPeakMB), unit: 'MB' },
      { id: 'cpu', name: 'CPU of the gateway process during the overload', value: `${Math.round(cpuOverload * 100)}% of a core` },
      {
        id: 'pressureOkAfter',
        name: 'after the load stops: pressure ok after',
        value: okAfterMs === undefined ? 'n/a' : round2(okAfterMs / 1000),
        unit: 's',
      },
      {
        id: 'recovery',
        name: 'after the load stops: recovered (pressure ok, queues empty) after',
        value: emptyAfterMs === undefined ? `not within ${RECOVERY_WAIT_MS / 1000}` : round2(emptyAfterMs / 1000),
        unit: 's',
        budget: { op: '<=', value: 5, source: 'performance budget: recovers within seconds' },
      },
    ];

    const every = Math.max(1, Math.round(samples.length / 12));
    const timeline = samples.filter((_, i) => i % every === 0 || i === samples.length - 1);
    return {
      figures,
      tables: [
        {
          title: 'Calibration (telemetry only, same gateway; the last sustained rate is the capacity)',
          columns: STEP_COLUMNS,
          rows: calibration.map(stepCells),
        },
        {
          title: 'During the overload and after (t from the start of the overload)',
          columns: [
            't s',
            'telemetry offered',
            'events stamped',
            'shed',
            'waiting telemetry',
            'waiting alarms/events',
            'pressure',
            'RSS MB',
            'JS heap used / total MB',
            'external MB (buffers)',
          ],
          rows: timeline.map((s) => [
            fmt(s.t / 1000, 1),
            fmtInt(s.offered),
            fmtInt(s.lastSeq),
            fmtInt(s.shed),
            fmtInt(s.parked),
            fmtInt(s.urgent),
            s.pressure,
            fmt(s.rssMB, 0),
            `${fmt(s.heapMB, 0)} / ${fmt(s.heapTotalMB, 0)}`,
            fmt(s.externalMB, 0),
          ]),
        },
      ],
      method: [
        `Gateway: \`startGateway\` with ${deviceCount} gas detectors in ${Math.ceil(deviceCount / PER_DRIVER)} driver instances that are not started (\`enabled: false\`: the inventory exists, the events come from the bench as a driver would emit them, through \`pipeline.ingest\` in the gateway process); journal \`synchronous=FULL\`; uplink configured to a closed 127.0.0.1 port, so every event also goes to the outbox; built-in alarm rules off (the alarm-latency section measures linkage); demo broker (anonymous read).`,
        `Load: simulated \`generic-lel\` detectors polled round robin, normalised by the driver's \`normalise()\`, with levels below the low threshold: one \`gas.reading\` (telemetry) per device message. Open loop (rate x elapsed time, ticks of 1 ms). Alarms: ${ALARMS_PER_S}/s \`${ALARM_TYPE}\` (kind alarm) on their own timer during the overload.`,
        `Calibration (same run, same gateway): telemetry steps of ${stepMs / 1000} s at increasing rates; a rate counts when the generator stayed within ${SUSTAINED.maxLagMs} ms of schedule, p99 (device message to a subscriber of \`<root>/events/#\` in another process) <= ${SUSTAINED.p99Ms} ms and nothing was shed; a failed rate is retried twice. Capacity = the highest rate that counted.`,
        `Overload: ${OVERLOAD_FACTOR}x the capacity for ${overloadMs / 1000} s. The consumer of \`<root>/events/#\` stays subscribed (the same bus load as in the calibration); a second subscriber process on \`<root>/events/+/+/${ALARM_TYPE}\` (QoS 1) times the alarms: latency from \`pipeline.ingest\` to arrival, clocks calibrated by IPC ping.`,
        'Where alarm latency goes: ingest -> handed to the local bus (its group commit done; `onDelivered`) -> delivered by the broker\'s emitter (an in-process aedes subscription, after the local-bus window and aedes\' queue) -> the subscriber process (socket, its event loop). Group commits are timed by wrapping `journal.append`.',
        'Alarms lost: an alarm counts as lost unless its id is in the journal, its seq reached the alarm subscriber and its id is in the outbox alarm lane (lane 0). Shed: not stamped at ingest (alarms are never parked).',
        'Telemetry: offered = readings handed to `pipeline.ingest`; kept = telemetry rows the journal gained; shed = the gateway\'s own `shedCount` delta (coalesced to the latest reading per device and quantity, or the oldest dropped from a full queue); shed must equal offered - kept exactly.',
        'RSS: this section\'s process (gateway, load generator and tsx loader), sampled every 100 ms during the overload. Recovery: from the end of the load until `pipeline.pressure` is `ok`, nothing waits for a commit and the local-bus window is empty (polled every 5 ms).',
      ],
      notes,
    };
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

function round2(v: number): number {
  return Number.isFinite(v) ? Math.round(v * 100) / 100 : Number.NaN;
}
