/**
 * Reports alarm transitions as `alarm.*` events (kind `alarm`) and keeps their state writes
 * durable: a transition's state change is written inside the journal transaction that stores its
 * event (journal tx hook), so after a crash either both exist or neither. An event the pipeline
 * does not take (refused) has its state written at once. The same holds for what an event the
 * rules see starts or changes (a count window's entry, a `for` timer, the count of an active alarm
 * a reading repeats): written with that event's commit, so the event loop never waits for a
 * commit of its own (with `synchronous: FULL`, an fsync).
 */
import { type Alarm, type AlarmHistoryEntry, HISTORY_LIMIT, summary } from '../core/alarm-types.js';
import type { EventEnvelope, Severity } from '../core/envelope.js';
import { errorMessage } from '../core/errors.js';
import type { TxWriter } from '../journal/tx-writer.js';
import { type AlarmEngineOptions, iso } from './engine-types.js';

/** A state write, through the transaction it belongs to (alarm-store.ts). */
export type StateWrite = (tx: TxWriter) => void;

export class TransitionReporter {
  /** State writes waiting for the commit of the event (by event id) that reports them. */
  private readonly writes = new Map<string, StateWrite>();
  /** The highest seq a journal transaction has taken (its hook has run for it). */
  private txSeq = 0;

  constructor(private readonly o: AlarmEngineOptions) {
    o.journal.addTxHook((rows, tx) => {
      this.txSeq = Math.max(this.txSeq, rows.at(-1)?.env.seq ?? 0);
      for (const { env } of rows) {
        const w = this.writes.get(env.id);
        if (!w) continue;
        try {
          w(tx);
        } catch (err) {
          this.o.log.error({ err: errorMessage(err), event: env.id }, 'alarm state write failed');
        }
      }
    });
  }

  /** A state write caused by `env`: in the transaction that commits it, or at once if that has run. */
  writeWith(env: EventEnvelope, write: StateWrite): void {
    if (env.seq <= this.txSeq) return write(this.o.store.direct);
    const before = this.writes.get(env.id);
    this.writes.set(
      env.id,
      before
        ? (tx) => {
            before(tx);
            write(tx);
          }
        : write,
    );
  }

  /** Saves the alarm as it is now with the commit of `env`, the event that changed it. */
  saveWith(env: EventEnvelope, a: Alarm): void {
    this.writeWith(env, this.saved(a));
  }

  /** A write of the alarm as it is now (what changes it later is written with its own event). */
  private saved(a: Alarm): StateWrite {
    const body = JSON.stringify(a);
    const snapshot = { ...a };
    return (tx) => this.o.store.saveAlarm(tx, snapshot, body);
  }

  /** Called with every committed event: its state write (if any) is done. */
  committed(env: EventEnvelope): void {
    if (this.writes.size) this.writes.delete(env.id);
  }

  /** Appends to the alarm's history, keeping the first entry (raised) and the latest ones. */
  addHistory(a: Alarm, h: AlarmHistoryEntry): void {
    a.history.push(h);
    if (a.history.length > HISTORY_LIMIT) a.history.splice(1, a.history.length - HISTORY_LIMIT);
  }

  /** Reports a transition as an event; its state change is written with the event's commit. */
  emit(
    a: Alarm,
    type: string,
    extra: Record<string, unknown>,
    severity?: Severity,
    alsoWrite?: StateWrite,
  ): void {
    const now = this.o.clock.now();
    a.updatedAt = iso(now);
    const save = this.saved(a);
    const write: StateWrite = (tx) => {
      save(tx);
      alsoWrite?.(tx);
    };
    const env = this.o.ingest({
      deviceId: a.device.id,
      type,
      kind: 'alarm',
      severity: severity ?? a.severity,
      receivedAt: new Date(now),
      data: { alarm: summary(a), ...extra },
    });
    if (env) this.writeWith(env, write);
    else write(this.o.store.direct);
    this.o.hooks?.transition?.(type, a);
  }
}
