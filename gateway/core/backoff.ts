/**
 * Exponential backoff with jitter: initialMs, then doubling up to maxMs, each delay spread by
 * ±jitter so that many devices (or buses) that failed together do not retry in lock-step.
 */
export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  /** Growth per attempt; default 2. */
  factor?: number;
  /** Spread as a fraction of the delay, 0..1; default 0.2 (±20 %). */
  jitter?: number;
  /** Source of randomness in [0, 1); injectable for tests. */
  random?: () => number;
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
    const jitter = this.o.jitter ?? 0.2;
    const spread = 1 - jitter + 2 * jitter * (this.o.random ?? Math.random)();
    return Math.round(Math.min(this.o.maxMs, base * spread));
  }

  /** Back to initialMs (after a success). */
  reset(): void {
    this.attempt = 0;
  }
}
