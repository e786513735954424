/**
 * `for` timers: a rule with `for` raises only when its condition has held that long. A pending
 * timer is written to the database with the commit of the event that starts it (and deleted with
 * that of the event that cancels it); after a restart it is re-armed and fires at its original due
 * time (at once if already due).
 */
import type { AlarmStore, PendingTimer } from './alarm-store.js';
import type { Clock, TimerHandle } from '../core/clock.js';
import type { EventEnvelope } from '../core/envelope.js';
import type { TransitionReporter } from './durable-transitions.js';

export class PendingTimers {
  private readonly pending = new Map<string, { p: PendingTimer; timer: TimerHandle }>();

  constructor(
    private readonly store: AlarmStore,
    private readonly clock: Clock,
    private readonly isStopped: () => boolean,
    /** A timer is due: it has left this set, its database row is still there. */
    private readonly due: (p: PendingTimer) => void,
    private readonly report: Pick<TransitionReporter, 'writeWith'>,
  ) {}

  has(key: string): boolean {
    return this.pending.has(key);
  }

  get size(): number {
    return this.pending.size;
  }

  list(): PendingTimer[] {
    return [...this.pending.values()].map((x) => x.p);
  }

  /** Re-arms the timers of an earlier run; those of rules no longer known are deleted. */
  load(known: (rule: string) => boolean): void {
    for (const p of this.store.loadPending()) {
      if (!known(p.rule)) {
        this.store.deletePending(this.store.direct, p.key);
        continue;
      }
      this.arm(p);
    }
  }

  /** `env` starts a timer: armed, and written with `env`'s commit. */
  start(p: PendingTimer, env: EventEnvelope): void {
    this.report.writeWith(env, (tx) => this.store.savePending(tx, p));
    this.arm(p);
  }

  /** `env` says the condition no longer holds: the timer goes, and its row with `env`'s commit. */
  cancel(key: string, env: EventEnvelope): void {
    const x = this.pending.get(key);
    if (!x) return;
    x.timer.cancel();
    this.pending.delete(key);
    this.report.writeWith(env, (tx) => this.store.deletePending(tx, key));
  }

  stop(): void {
    for (const { timer } of this.pending.values()) timer.cancel();
    this.pending.clear();
  }

  private arm(p: PendingTimer): void {
    const timer = this.clock.after(Math.max(0, p.dueAt - this.clock.now()), () => this.fire(p.key));
    this.pending.set(p.key, { p, timer });
  }

  private fire(key: string): void {
    const x = this.pending.get(key);
    if (!x || this.isStopped()) return;
    this.pending.delete(key);
    this.due(x.p);
  }
}
