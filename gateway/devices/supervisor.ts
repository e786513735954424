/**
 * Runs one driver instance: launches it, and relaunches it with exponential backoff (the shared
 * `Backoff`, with jitter) when it fails to start or reports a fatal fault. A failing driver never
 * stops the others.
 */
import { Backoff } from '../core/backoff.js';
import { type Clock, systemClock, type TimerHandle } from '../core/clock.js';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';

export type DriverState = 'starting' | 'running' | 'backoff' | 'stopped';

/** One launch of a driver instance with everything it holds (listener, subscriptions, schedule). */
export interface Runnable {
  /** Resolves once running; rejects if it cannot start. */
  start(): Promise<void>;
  /** Releases everything; must not throw. */
  stop(): Promise<void>;
  onFatal?(listener: (err: Error) => void): void;
}

export interface SupervisorOptions<R extends Runnable> {
  id: string;
  family: string;
  /** Builds a fresh launch; called again for every restart. */
  create(): R;
  log: Logger;
  clock?: Clock;
  onRestart?: () => void;
  backoff?: { initialMs: number; maxMs: number; random?: () => number };
}

export class DriverSupervisor<R extends Runnable = Runnable> {
  state: DriverState = 'stopped';
  lastError?: string;
  private current?: R;
  private timer?: TimerHandle;
  private stopping = false;
  private readonly backoff: Backoff;
  private readonly clock: Clock;

  constructor(private readonly o: SupervisorOptions<R>) {
    const b = o.backoff ?? { initialMs: 1000, maxMs: 60_000 };
    this.backoff = new Backoff({ initialMs: b.initialMs, maxMs: b.maxMs, random: b.random });
    this.clock = o.clock ?? systemClock;
  }

  get id(): string {
    return this.o.id;
  }

  get family(): string {
    return this.o.family;
  }

  /** The launch that is running now, if any. */
  get running(): R | undefined {
    return this.state === 'running' ? this.current : undefined;
  }

  start(): void {
    this.stopping = false;
    void this.run();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.timer?.cancel();
    this.timer = undefined;
    const cur = this.current;
    this.current = undefined;
    this.state = 'stopped';
    if (cur) await safeStop(cur, this.o.log);
  }

  private async run(): Promise<void> {
    this.state = 'starting';
    let cur: R;
    try {
      cur = this.o.create();
      this.current = cur;
      cur.onFatal?.((err) => this.fail(cur, err));
      await cur.start();
    } catch (err) {
      this.fail(this.current, err);
      return;
    }
    if (this.stopping || this.current !== cur) return;
    this.state = 'running';
    this.lastError = undefined;
    this.backoff.reset();
    this.o.log.info('driver running');
  }

  private fail(cur: R | undefined, err: unknown): void {
    if (this.stopping || (cur && this.current !== cur)) return;
    this.current = undefined;
    this.lastError = errorMessage(err);
    const delay = this.backoff.next();
    this.state = 'backoff';
    this.o.log.error(
      { err: this.lastError, retryInMs: delay, failures: this.backoff.attempts },
      'driver failed; restarting',
    );
    if (cur) void safeStop(cur, this.o.log);
    this.timer = this.clock.after(delay, () => {
      this.timer = undefined;
      this.o.onRestart?.();
      void this.run();
    });
  }
}

async function safeStop(r: Runnable, log: Logger): Promise<void> {
  try {
    await r.stop();
  } catch (err) {
    log.warn({ err: errorMessage(err) }, 'driver stop failed');
  }
}
