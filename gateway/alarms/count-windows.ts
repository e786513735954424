/**
 * Sliding count windows of rules with `count` (n events, or n distinct devices, within a time
 * window), one per rule and subject. Entries are aged on the monotonic clock, so a wall-clock step
 * does not move a window; each entry is written to the database with the commit of the event that
 * adds it.
 */
import type { AlarmStore, WindowEntry } from './alarm-store.js';
import type { Clock } from '../core/clock.js';
import type { EventEnvelope } from '../core/envelope.js';
import type { TransitionReporter } from './durable-transitions.js';

type Entry = WindowEntry & { mono: number };

export class CountWindows {
  /** `mono` is the entry's monotonic time. */
  private readonly windows = new Map<string, Entry[]>();

  constructor(
    private readonly store: AlarmStore,
    private readonly clock: Clock,
    private readonly report: Pick<TransitionReporter, 'writeWith'>,
  ) {}

  /** Loads the windows of an earlier run. */
  load(): void {
    // Entries of an earlier run carry wall time only: place them on this run's monotonic clock.
    const wallToMono = this.clock.elapsed() - this.clock.now();
    for (const [key, entries] of this.store.loadWindows())
      this.windows.set(
        key,
        entries.map((e) => ({ ...e, mono: e.at + wallToMono })),
      );
  }

  /** Adds `env`'s device at wall time `now`, drops entries older than `windowMs`; returns the window. */
  add(key: string, env: EventEnvelope, now: number, windowMs: number): readonly WindowEntry[] {
    const mono = this.clock.elapsed();
    const w = (this.windows.get(key) ?? []).filter((e) => e.mono >= mono - windowMs);
    const entry = { deviceId: env.device.id, at: now, mono };
    w.push(entry);
    this.windows.set(key, w);
    const oldest = Math.min(...w.map((e) => e.at));
    this.report.writeWith(env, (tx) => this.store.addWindow(tx, key, entry, oldest));
    return w;
  }

  /** Forgets a window in memory (its rows are cleared with the event that raised the alarm). */
  drop(key: string): void {
    this.windows.delete(key);
  }
}
