/**
 * Exponential backoff with jitter: initialMs, then growing by `factor` up to maxMs, each delay
 * jittered so that many devices (or buses, or gateways) that failed together do not retry in
 * lock-step. Two kinds of jitter:
 * - `symmetric` (default): the delay spread by ±jitter around it, never above maxMs;
 * - `equal`: half the delay fixed, the other half random (delay in [base/2, base]): a wider spread
 *   with a floor, for many clients of one server that all lost it at once.
 */
export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  /** Growth per attempt; default 2. */
  factor?: number;
  /** Kind of jitter; default `symmetric`. */
  kind?: 'symmetric' | 'equal';
  /** For `symmetric`: spread as a fraction of the delay, 0..1; default 0.2 (±20 %). */
  jitter?: number;
  /** Source of randomness in [0, 1); injectable for tests. */
  random?: () => number;
}

/** `ms` spread by ±jitter (a fraction, 0..1): in [ms × (1 − jitter), ms × (1 + jitter)), rounded. */
export function jittered(ms: number, jitter: number, random: () => number = Math.random): number {
  return Math.round(ms * (1 - jitter + 2 * jitter * random()));
}

export class Backoff {
  private attempt = 0;

  constructor(private readonly o: BackoffOptions) {
    if (!(o.initialMs > 0) || !(o.maxMs >= o.initialMs)) {
      throw new RangeError(`backoff needs 0 < initialMs <= maxMs, got ${o.initialMs} and ${o.maxMs}`);
    }
  }

  /** Failures counted since the last reset. */
  get attempts(): number {
    return this.attempt;
  }

  /** The delay to wait before the next attempt; every call makes the following one longer. */
  next(): number {
    const base = Math.min(this.o.maxMs, this.o.initialMs * (this.o.factor ?? 2) ** this.attempt);
    this.attempt += 1;
    const random = this.o.random ?? Math.random;
    if (this.o.kind === 'equal') return Math.round(base / 2 + (random() * base) / 2);
    return Math.min(this.o.maxMs, jittered(base, this.o.jitter ?? 0.2, random));
  }

  /** Back to initialMs (after a success). */
  reset(): void {
    this.attempt = 0;
  }
}
