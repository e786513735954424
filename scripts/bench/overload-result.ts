/**
 * The result of the overload section (overload.ts): its figures with their budgets, the
 * calibration and timeline tables, the method and the notes, from what the section measured.
 */
import { availableParallelism, loadavg } from 'node:os';
import { STEP_COLUMNS, type StepRow, stepCells, SUSTAINED } from './load.js';
import { fmt, fmtInt, type LatencySummary } from './stats.js';
import type { Figure, SectionResult } from './types.js';

export const PER_DRIVER = 200;
export const ALARMS_PER_S = 20;
export const OVERLOAD_FACTOR = 3;
export const ALARM_TYPE = 'gas.alarm.high';
/** How long the section waits for the gateway to recover before it gives up measuring. */
export const RECOVERY_WAIT_MS = 120_000;

/** One sample of the gateway's state during the overload and the recovery. */
export interface Sample {
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

/** What the overload section measured. */
export interface OverloadMeasurements {
  deviceCount: number;
  overloadMs: number;
  stepMs: number;
  calibration: StepRow[];
  best: StepRow | undefined;
  capacity: number;
  overloadRate: number;
  offer: { maxLagMs: number };
  durationS: number;
  offeredRate: number;
  keptRate: number;
  alarmsOffered: number;
  alarmsNotStamped: number;
  alarmsLost: number;
  missing: { journal: number; bus: number; outbox: number };
  telemetryOffered: number;
  kept: number;
  shed: number;
  shedExact: boolean;
  contiguous: boolean;
  seqs: { lo: number; hi: number; n: number };
  okAfterMs: number | undefined;
  emptyAfterMs: number | undefined;
  invalid: number;
  alarmLat: LatencySummary;
  handedLat: LatencySummary;
  brokerLat: LatencySummary;
  writtenLat: LatencySummary;
  commitLat: LatencySummary;
  commits: { rows: number; ms: number }[];
  commitRows: number;
  consumedCount: number;
  behindShare: number;
  maxParked: number;
  rssReadyMB: number;
  rssBaseMB: number;
  rssPeakMB: number;
  kernelPeakMB: number;
  cpuOverload: number;
  samples: Sample[];
}

export function overloadResult(m: OverloadMeasurements): SectionResult {
  const {
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
    consumedCount,
    behindShare,
    maxParked,
    rssReadyMB,
    rssBaseMB,
    rssPeakMB,
    kernelPeakMB,
    cpuOverload,
    samples,
  } = m;
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
      id: 'alarmWrittenP99',
      name: "of which ingest to the write to the subscriber's connection, p99",
      value: round2(writtenLat.p99),
      unit: 'ms',
    },
    {
      id: 'alarmWrittenMax',
      name: "of which ingest to the write to the subscriber's connection, max",
      value: round2(writtenLat.max),
      unit: 'ms',
    },
    {
      id: 'commits',
      name: 'batches committed during the overload (from the post to the answer)',
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
    { id: 'telemetryOnBus', name: 'events the local consumer received during the overload', value: consumedCount, unit: 'events' },
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
  // RSS over time for the plot (at most about 300 points of the 100 ms samples).
  const rssEvery = Math.max(1, Math.ceil(samples.length / 300));
  return {
    figures,
    series: [
      {
        id: 'overloadRss',
        title: 'gateway RSS during the overload and the recovery',
        x: 't s',
        y: 'RSS MB',
        points: samples.filter((_, i) => i % rssEvery === 0 || i === samples.length - 1).map((s) => [round2(s.t / 1000), Math.round(s.rssMB)]),
      },
    ],
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
      'Where alarm latency goes: ingest -> handed to the local bus (its group commit done; `onDelivered`) -> delivered by the broker\'s emitter (an in-process aedes subscription, after the local-bus window and aedes\' queue) -> the subscriber process (socket, its event loop). Batches are timed by wrapping `journal.post`: from the post to the answer of the journal\'s writer thread (committed and fsynced).',
      'Alarms lost: an alarm counts as lost unless its id is in the journal, its seq reached the alarm subscriber and its id is in the outbox alarm lane (lane 0). Shed: not stamped at ingest (alarms are never parked).',
      'Telemetry: offered = readings handed to `pipeline.ingest`; kept = telemetry rows the journal gained; shed = the gateway\'s own `shedCount` delta (coalesced to the latest reading per device and quantity, or the oldest dropped from a full queue); shed must equal offered - kept exactly.',
      'RSS: this section\'s process (gateway and load generator, compiled, with the service unit\'s V8 heap limit and malloc arena limit), sampled every 100 ms during the overload. Recovery: from the end of the load until `pipeline.pressure` is `ok`, nothing waits for a commit and the local-bus window is empty (polled every 5 ms).',
    ],
    notes,
  };
}

export function round2(v: number): number {
  return Number.isFinite(v) ? Math.round(v * 100) / 100 : Number.NaN;
}
