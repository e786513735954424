/**
 * Time source of the alarm engine. Production uses the system clock; tests inject a
 * manual clock so `for` durations and escalations are checked without waiting.
 *
 * `now()` is wall time (for timestamps and stored due times); `after(ms)` measures `ms` on a
 * monotonic clock, so a step of the wall clock (an NTP correction, a mis-set RTC fixed by hand)
 * neither fires a timer early nor holds it back: a 30 s `for` timer fires 30 s later whatever
 * the wall clock did meanwhile. Deadlines that are wall times by nature (a schedule at 18:00)
 * are not durations: compute them from `now()` when they are armed, and re-arm them when the
 * wall clock steps.
 */
export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Wall time, ms since the epoch. */
  now(): number;
  /** Monotonic time in ms (any origin): for measuring durations, e.g. a count window. */
  elapsed(): number;
  /** Runs `fn` once `ms` have passed on this clock (monotonic time for the system clock). */
  after(ms: number, fn: () => void): TimerHandle;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  elapsed: () => performance.now(),
  after(ms, fn) {
    // setTimeout caps at 2^31-1 ms (~24.8 days): re-arm for longer waits. The due time is
    // monotonic (performance.now), never Date.now(): a wall-clock step must not move it.
    const MAX = 2_147_483_647;
    let t: NodeJS.Timeout;
    const due = performance.now() + ms;
    const arm = (left: number) => {
      t = setTimeout(
        () => {
          const rest = due - performance.now();
          if (rest >= 1) arm(rest);
          else fn();
        },
        Math.min(Math.max(0, left), MAX),
      );
      t.unref();
    };
    arm(ms);
    return { cancel: () => clearTimeout(t) };
  },
};

/** A clock that only moves when told to (tests). Timers fire in due order during `advance`. */
export class ManualClock implements Clock {
  private t: number;
  private timers: { due: number; seq: number; fn: () => void }[] = [];
  private seq = 0;

  constructor(start = Date.now()) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  elapsed(): number {
    return this.t;
  }

  after(ms: number, fn: () => void): TimerHandle {
    const timer = { due: this.t + Math.max(0, ms), seq: this.seq++, fn };
    this.timers.push(timer);
    return {
      cancel: () => {
        this.timers = this.timers.filter((x) => x !== timer);
      },
    };
  }

  /** Moves time forward by `ms`, firing every timer that falls due on the way, in order. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const next = this.timers.filter((x) => x.due <= end).sort((a, b) => a.due - b.due || a.seq - b.seq)[0];
      if (!next) break;
      this.timers = this.timers.filter((x) => x !== next);
      this.t = Math.max(this.t, next.due);
      next.fn();
    }
    this.t = end;
  }

  get pendingTimers(): number {
    return this.timers.length;
  }
}

/** The machine's IANA time zone (e.g. `Asia/Shanghai`), for sites whose file names none. */
export function localTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}

/** True when the runtime knows the IANA time zone `tz`. */
export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}
