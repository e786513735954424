/**
 * The event pipeline: driver event -> envelope (seq, id) -> journal (group commit, one
 * transaction per tick) -> subscribers (local bus publish, later rules and uplink).
 * Nothing reaches a subscriber before it is committed.
 */

import type { Journal, JournalRow } from '../journal/journal.js';
import { type DeviceEvent, type DeviceRef, EventEnvelope, stampEvent } from './envelope.js';
import { errorMessage } from './errors.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';

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
}

export class Pipeline {
  private seq: number;
  private pending: JournalRow[] = [];
  private scheduled = false;
  private batch = deferred();
  private readonly listeners: CommittedListener[] = [];
  private readonly ingestListeners: ((env: EventEnvelope) => void)[] = [];

  constructor(private readonly o: PipelineOptions) {
    this.seq = o.journal.lastSeq();
  }

  /** Called with every committed event, in sequence order. */
  onCommitted(listener: CommittedListener): void {
    this.listeners.push(listener);
  }

  /**
   * Called synchronously with every accepted event, before it is committed (the alarm engine
   * uses it so that an alarm joins the group commit of its trigger). A listener may ingest.
   */
  onIngested(listener: (env: EventEnvelope) => void): void {
    this.ingestListeners.push(listener);
  }

  /**
   * Accepts one driver event. Returns the envelope, or undefined when the event was
   * rejected (unknown device, invalid envelope: logged and counted, never stored).
   */
  ingest(e: DeviceEvent): EventEnvelope | undefined {
    const device = this.o.devices.get(e.deviceId);
    if (!device) {
      this.reject(e, 'unknown', `device "${e.deviceId}" is not in the configuration`);
      return undefined;
    }
    const env = stampEvent(e, { site: this.o.site, gateway: this.o.gateway, seq: this.seq + 1, device });
    const check = EventEnvelope.safeParse(env);
    if (!check.success) {
      this.reject(
        e,
        device.family,
        check.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
      );
      return undefined;
    }
    this.seq += 1;
    this.pending.push({ env, json: JSON.stringify(env) });
    this.o.metrics.eventsIn.inc({ family: device.family, kind: env.kind });
    this.schedule();
    for (const l of this.ingestListeners) {
      try {
        l(env);
      } catch (err) {
        this.o.log.error({ err: errorMessage(err), event: env.id }, 'ingest listener failed');
      }
    }
    return env;
  }

  /** Resolves when everything ingested so far is committed (and handed to the listeners). */
  committed(): Promise<void> {
    return this.pending.length ? this.batch.promise : Promise.resolve();
  }

  get lastSeq(): number {
    return this.seq;
  }

  get pendingCount(): number {
    return this.pending.length;
  }

  /** Commits whatever is pending now, synchronously (used at shutdown). */
  flush(): void {
    this.scheduled = false;
    if (!this.pending.length) return;
    const rows = this.pending;
    const done = this.batch;
    const m = this.o.metrics;
    const end = m.journalCommitSeconds.startTimer();
    try {
      this.o.journal.append(rows);
    } catch (err) {
      // Keep the events and retry: a full disk or an I/O error must not lose what drivers reported.
      this.o.log.error({ err: errorMessage(err), pending: rows.length }, 'journal commit failed; retrying');
      setTimeout(() => this.schedule(), this.o.retryMs ?? 1000).unref();
      return;
    }
    end();
    this.pending = [];
    this.batch = deferred();
    const now = Date.now();
    m.journalPending.set(0);
    m.journalLastSeq.set(rows[rows.length - 1]!.env.seq);
    for (const { env, json } of rows) {
      m.journalLagSeconds.observe((now - Date.parse(env.receivedAt)) / 1000);
      m.eventsPublished.inc({ kind: env.kind });
      for (const l of this.listeners) {
        try {
          l(env, json);
        } catch (err) {
          this.o.log.error({ err: errorMessage(err), event: env.id }, 'event listener failed');
        }
      }
    }
    done.resolve();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    this.o.metrics.journalPending.set(this.pending.length);
    setImmediate(() => this.flush());
  }

  private reject(e: DeviceEvent, family: string, reason: string): void {
    this.o.metrics.invalidInputs.inc({ family });
    this.o.log.warn({ device: e.deviceId, type: e.type, reason }, 'event rejected');
  }
}

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}
