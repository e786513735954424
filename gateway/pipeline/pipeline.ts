/**
 * The event pipeline: driver event -> envelope (seq, id) -> journal (a batch per tick, an alarm's
 * right after the callback that ingested it, posted to the journal's writer thread, which commits
 * what waits in one transaction and fsyncs it) -> durable -> subscribers (local bus, rules). An
 * event's uplink outbox row is written in its transaction. Alarms go to the local bus and the
 * console as their batch is posted, a few ms before its commit: a slow disk never delays a local
 * alarm; a crash or power cut in those ms may lose the last ones (and their state) from the journal.
 *
 * Telemetry alone waits up to `telemetryCommitMs` (limits.ts) for more events to share its
 * transaction; an alarm or event commits at once, taking the waiting readings along. Rules see
 * each reading as it is stamped, before its commit: the wait never delays an alarm.
 *
 * Overload (more offered than the disk and the local bus take): every queue is bounded; alarms and
 * events (state changes) go first and are never shed. Telemetry beyond one batch per tick waits in
 * a queue; while behind, a newer reading of the same device and quantity replaces the waiting one
 * (coalescing), and when the queue is full the oldest is dropped, counted as shed per family.
 * Telemetry is stamped (seq) only as it enters a batch: `seq` stays contiguous whatever is shed.
 */

import type { Journal, JournalRow } from '../journal/journal.js';
import { type DeviceEvent, type DeviceRef, type EventEnvelope, EventKind, eventProblem, stampEvent } from '../core/envelope.js';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import { DEFAULT_PIPELINE_LIMITS, type PipelineLimits } from './limits.js';
import { ParkedTelemetry } from './parked-telemetry.js';

export type CommittedListener = (env: EventEnvelope, json: string) => void;

export interface PipelineOptions {
  site: string;
  gateway: string;
  journal: Journal;
  devices: ReadonlyMap<string, DeviceRef>;
  metrics: Metrics;
  log: Logger;
  /** Retry delay after a failed commit (disk full, I/O error); events stay queued meanwhile. */
  retryMs?: number;
  limits?: Partial<PipelineLimits>;
}

/** Why the pipeline is behind, if it is. */
export type Pressure = 'ok' | 'behind' | 'disk';

interface Row extends JournalRow {
  /** Handed to the delivery listeners (an alarm or, while the disk fails, an event: before it is durable). */
  delivered: boolean;
}

export class Pipeline {
  private seq: number;
  /** Stamped rows of the next group commit, in seq order. */
  private rows: Row[] = [];
  /** Events accepted since the last commit, per family and kind: the metric is added to once per commit (a labelled counter per event costs more). */
  private readonly accepted = new Map<string, Record<EventKind, number>>();
  /** Batches posted to the journal and not yet durable, in seq order; their rows, and of them telemetry. */
  private posted: Row[][] = [];
  private postedRows = 0;
  private postedTelemetry = 0;
  /** Batches posted so far; the answers of those before `staleBefore` are stale (taken back after a failure). */
  private posts = 0;
  private staleBefore = 0;
  private failedBefore = 0;
  /** A flush for an alarm is queued as a microtask (after the callback that ingested it). */
  private urgentScheduled = false;
  /** Telemetry waiting for room in a batch, oldest first, one per device and type. */
  private readonly parked: ParkedTelemetry;
  /** The queued flush's number (0: none); a flush that runs first (an alarm's) makes it stale. */
  private scheduled = 0;
  private flushes = 0;
  /** Telemetry waits for company in its transaction (see telemetryCommitMs). */
  private telemetryTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private commitFailing = false;
  private shed = 0;
  /** `committed()` callers (resolved when nothing is pending). */
  private readonly idleWaiters: (() => void)[] = [];
  private readonly limits: PipelineLimits;
  private readonly committedListeners: CommittedListener[] = [];
  private readonly deliveryListeners: CommittedListener[] = [];
  private readonly ingestListeners: ((env: EventEnvelope) => void)[] = [];
  private downstreamFull: () => boolean = () => false;
  private readonly reliefWaiters: (() => void)[] = [];

  constructor(private readonly o: PipelineOptions) {
    this.seq = o.journal.lastSeq();
    this.limits = { ...DEFAULT_PIPELINE_LIMITS, ...o.limits };
    o.journal.onSyncFailed((err) => this.commitFailed(err, 'fsync'));
    this.parked = new ParkedTelemetry(this.limits.maxQueuedTelemetry, (family) => {
      this.shed++;
      this.o.metrics.telemetryShed.inc({ family });
    });
  }

  /** Called with every committed event, in sequence order. */
  onCommitted(listener: CommittedListener): void {
    this.committedListeners.push(listener);
  }

  /**
   * For the local bus and the console: called once with every event as soon as it may go out: once
   * durable, in seq order; an alarm as its batch is posted; while the disk fails, alarms and events at once.
   */
  onDelivered(listener: CommittedListener): void {
    this.deliveryListeners.push(listener);
  }

  /**
   * Called synchronously with every event as it is stamped, before it is committed (the alarm
   * engine uses it so that an alarm joins the group commit of its trigger). A listener may ingest.
   * Alarms and events are stamped as they are ingested; telemetry when it enters a batch.
   */
  onIngested(listener: (env: EventEnvelope) => void): void {
    this.ingestListeners.push(listener);
  }

  /** Tells the pipeline when the stage after it is full: telemetry then waits (and coalesces). */
  setDownstream(isFull: () => boolean): void {
    this.downstreamFull = isFull;
  }

  /**
   * Accepts one driver event. Returns the envelope; undefined when the event was rejected (unknown
   * device, invalid envelope: logged and counted, never stored) or is telemetry waiting for room.
   */
  ingest(e: DeviceEvent): EventEnvelope | undefined {
    const device = this.o.devices.get(e.deviceId);
    if (!device) {
      this.reject(e, 'unknown', `device "${e.deviceId}" is not in the configuration`);
      return undefined;
    }
    const problem = eventProblem(e);
    if (problem) {
      this.reject(e, device.family, problem);
      return undefined;
    }
    let n = this.accepted.get(device.family);
    if (!n) this.accepted.set(device.family, (n = { alarm: 0, event: 0, telemetry: 0 }));
    n[e.kind]++;
    if (e.kind !== 'telemetry') {
      if (e.kind === 'alarm') this.scheduleUrgent();
      else this.schedule();
      return this.stamp(e, device);
    }
    if (this.parked.size === 0 && !this.isBehind()) {
      const env = this.stamp(e, device);
      this.scheduleTelemetry();
      return env;
    }
    this.parked.park(e, device);
    this.schedule();
    return undefined;
  }

  /** Resolves when everything ingested so far is committed (and handed to the listeners). */
  committed(): Promise<void> {
    return this.pendingCount ? new Promise((resolve) => this.idleWaiters.push(resolve)) : Promise.resolve();
  }

  get lastSeq(): number {
    return this.seq;
  }

  /** Events accepted and not yet committed (alarms and events, and telemetry). */
  get pendingCount(): number {
    return this.inBatch + this.parked.size;
  }

  /** `behind`: telemetry is waiting (and coalescing); `disk`: commits fail (alarms still go out). */
  get pressure(): Pressure {
    if (this.commitFailing) return 'disk';
    return this.isBehind() ? 'behind' : 'ok';
  }

  /** Resolves when the pipeline is no longer behind, or after `maxWaitMs` (a held device is slowed down, never starved). */
  relief(maxWaitMs: number): Promise<void> {
    if (!this.isBehind()) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, maxWaitMs);
      this.reliefWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Telemetry readings shed since start (coalesced or dropped from a full queue). */
  get shedCount(): number {
    return this.shed;
  }

  /** Queue depths, for /healthz and /metrics. */
  get depths(): { urgent: number; telemetry: number } {
    let telemetry = this.parked.size + this.postedTelemetry;
    for (const r of this.rows) if (r.env.kind === 'telemetry') telemetry++;
    return { urgent: this.pendingCount - telemetry, telemetry };
  }

  /** Commits what is pending now; `all` (shutdown): all telemetry too (the journal's close waits for its commit). */
  flush(all = false): void {
    this.scheduled = 0;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    clearTimeout(this.telemetryTimer);
    this.telemetryTimer = undefined;
    this.fill(all);
    if (this.rows.length) {
      const rows = all ? this.rows : this.rows.slice(0, this.limits.maxCommit);
      const end = this.o.metrics.journalCommitSeconds.startTimer();
      const post = this.posts;
      try {
        this.o.journal.post(rows, (err) => {
          if (post < this.staleBefore) return; // taken back after an earlier batch failed
          if (err) return this.commitFailed(err, 'refused');
          end();
          if (this.commitFailing && post >= this.failedBefore) this.recovered();
          this.durable(this.posted.shift()!);
          this.settle();
        });
      } catch (err) {
        return this.commitFailed(err, 'unposted');
      }
      this.rows = rows.length === this.rows.length ? [] : this.rows.slice(rows.length);
      this.posted.push(rows);
      this.postedRows += rows.length;
      this.posts++;
      // Alarms go out before their commit.
      for (const r of rows) if (r.env.kind === 'alarm') this.deliverNow(r); else if (r.env.kind === 'telemetry') this.postedTelemetry++;
    }
    this.settle();
  }

  /** Events stamped and not yet durable. */
  private get inBatch(): number {
    return this.rows.length + this.postedRows;
  }

  private isBehind(): boolean {
    return this.commitFailing || this.inBatch >= this.limits.maxBatch || this.downstreamFull();
  }

  /** The first batch posted survives power loss now: its rows go out, in seq order. */
  private durable(rows: readonly Row[]): void {
    this.postedRows -= rows.length;
    const m = this.o.metrics;
    m.journalLastSeq.set(rows[rows.length - 1]!.env.seq);
    m.journalLagSeconds.observe((Date.now() - Date.parse(rows[0]!.env.receivedAt)) / 1000);
    const published: Record<EventKind, number> = { alarm: 0, event: 0, telemetry: 0 }; // counted per batch: cheaper
    for (const row of rows) {
      published[row.env.kind]++;
      this.deliverNow(row);
      this.call(this.committedListeners, row.env, row.json);
    }
    this.postedTelemetry -= published.telemetry;
    for (const kind of EventKind.options) if (published[kind]) m.eventsPublished.inc({ kind }, published[kind]);
  }

  /**
   * Moves waiting telemetry, oldest first, into the next transaction while it has room (one transaction's
   * worth: an alarm stamped meanwhile commits behind no more), downstream takes it and the tick's budget lasts.
   */
  private fill(all: boolean): void {
    if (this.commitFailing && !all) return;
    // An alarm or event in this batch commits now, without waiting telemetry making the batch longer.
    if (!all && this.rows.some((r) => r.env.kind !== 'telemetry')) return;
    const until = performance.now() + this.limits.fillBudgetMs;
    let n = 0;
    const room = () => this.rows.length < this.limits.maxCommit && this.inBatch < this.limits.maxBatch && !this.downstreamFull();
    while (this.parked.size && (all || room())) {
      if (!all && ++n % 64 === 0 && performance.now() > until) break;
      const p = this.parked.take()!;
      this.stamp(p.e, p.device);
    }
  }

  /** After a flush: reports depths, resolves `committed()` when empty, schedules what waits. */
  private settle(): void {
    const m = this.o.metrics;
    for (const [family, n] of this.accepted) {
      for (const kind of EventKind.options) if (n[kind]) m.eventsIn.inc({ family, kind }, n[kind]);
      n.alarm = n.event = n.telemetry = 0;
    }
    const d = this.depths;
    m.journalPending.set(this.pendingCount);
    m.queueDepth.set({ stage: 'commit-urgent' }, d.urgent);
    m.queueDepth.set({ stage: 'commit-telemetry' }, d.telemetry);
    m.degraded.set({ reason: 'behind' }, this.parked.size ? 1 : 0);
    if (this.reliefWaiters.length && !this.isBehind()) for (const w of this.reliefWaiters.splice(0)) w();
    if (!this.pendingCount) {
      for (const w of this.idleWaiters.splice(0)) w();
    } else if (this.rows.length && !this.commitFailing) {
      if (!this.telemetryTimer) this.schedule(); // else readings wait for company
    } else if (this.parked.size && !this.commitFailing && this.inBatch < this.limits.maxBatch) {
      // The tick's budget ran out: go on next tick (I/O, and alarms with it, run in between).
      // (No room: the events not yet durable fill their bound; the journal's answer comes back here.)
      if (!this.downstreamFull()) this.schedule();
      // Downstream is full: look again shortly rather than spinning the event loop.
      else this.retryTimer ??= setTimeout(() => this.flush(), 5);
    }
  }

  private recovered(): void {
    this.commitFailing = false;
    this.o.metrics.degraded.set({ reason: 'disk' }, 0);
    this.o.log.warn({ lastSeq: this.seq }, 'journal commits again');
  }

  /**
   * A batch was not stored. `refused`: the writer's commit failed, and nothing posted since is
   * written: taken back, to be posted again. `unposted`: the batch could not be posted (those before
   * it commit as usual). `fsync`: the writer's fsync failed; its batches are committed, it retries.
   */
  private commitFailed(err: unknown, how: 'refused' | 'unposted' | 'fsync'): void {
    // Keep the events and retry: a full disk or an I/O error must not lose what drivers reported. Alarms and
    // events go out meanwhile. Only the answer of a batch posted after this (an fsync's: any) says the disk works.
    this.failedBefore = how === 'fsync' ? 0 : this.posts;
    if (how === 'refused') {
      this.staleBefore = this.posts;
      this.rows = [...this.posted.flat(), ...this.rows];
      this.posted = [];
      this.postedRows = this.postedTelemetry = 0;
    }
    if (!this.commitFailing) {
      this.commitFailing = true;
      this.o.metrics.degraded.set({ reason: 'disk' }, 1);
      this.o.log.error(
        { err: errorMessage(err), pending: this.inBatch },
        `journal ${how === 'fsync' ? 'fsync' : 'commit'} failed (disk full or I/O error?): alarms and events still go out, telemetry waits; retrying`,
      );
    }
    for (const rows of [...this.posted, this.rows]) for (const row of rows) if (row.env.kind !== 'telemetry') this.deliverNow(row);
    this.settle();
    if (how === 'fsync') return; // the writer retries it
    this.retryTimer = setTimeout(() => this.flush(), this.o.retryMs ?? 1000).unref();
  }

  private stamp(e: DeviceEvent, device: DeviceRef): EventEnvelope {
    // Checked when ingested (eventProblem): the envelope is valid by construction.
    const env = stampEvent(e, { site: this.o.site, gateway: this.o.gateway, seq: (this.seq += 1), device });
    this.rows.push({ env, json: JSON.stringify(env), delivered: false });
    for (const l of this.ingestListeners) {
      try {
        l(env);
      } catch (err) {
        this.o.log.error({ err: errorMessage(err), event: env.id }, 'ingest listener failed');
      }
    }
    return env;
  }

  private deliverNow(row: Row): void {
    if (row.delivered) return;
    row.delivered = true;
    this.call(this.deliveryListeners, row.env, row.json);
  }

  private call(listeners: CommittedListener[], env: EventEnvelope, json: string): void {
    for (const l of listeners) {
      try {
        l(env, json);
      } catch (err) {
        this.o.log.error({ err: errorMessage(err), event: env.id }, 'event listener failed');
      }
    }
  }

  /** An alarm is committed right after the callback that ingested it, not at the end of the turn. */
  private scheduleUrgent(): void {
    if (this.urgentScheduled) return;
    this.urgentScheduled = true;
    queueMicrotask(() => {
      this.urgentScheduled = false;
      this.flush();
    });
  }

  /** A reading just stamped: its batch commits when full, or when it has waited `telemetryCommitMs`, or with the next alarm or event. */
  private scheduleTelemetry(): void {
    if (this.rows.length >= this.limits.maxCommit || this.limits.telemetryCommitMs <= 0) return this.schedule();
    if (this.scheduled || this.telemetryTimer) return;
    this.telemetryTimer = setTimeout(() => this.flush(), this.limits.telemetryCommitMs);
  }

  /**
   * Flushes in the check phase of this turn. Queued again after an alarm's flush, so that it runs
   * after the writes that flush queued there (the broker writes each delivery from a setImmediate).
   */
  private schedule(): void {
    if (this.scheduled) return;
    const n = (this.scheduled = ++this.flushes);
    setImmediate(() => {
      if (this.scheduled === n) this.flush();
    });
  }

  private reject(e: DeviceEvent, family: string, reason: string): void {
    this.o.metrics.invalidInputs.inc({ family });
    this.o.log.warn({ device: e.deviceId, type: e.type, reason }, 'event rejected');
  }
}
