/** Small statistics helpers for the bench (no timing assertions anywhere: figures only). */

/** A clock comparable across processes on one machine: wall-clock anchored, monotonic, sub-millisecond. */
export const now = (): number => performance.timeOrigin + performance.now();

export interface LatencySummary {
  count: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

/** Percentiles (nearest rank) of a sample; sorts a copy. */
export function summarise(sample: Float64Array): LatencySummary {
  const n = sample.length;
  if (!n)
    return {
      count: 0,
      p50: Number.NaN,
      p99: Number.NaN,
      p999: Number.NaN,
      max: Number.NaN,
      mean: Number.NaN,
    };
  const s = Float64Array.from(sample).sort();
  const at = (q: number) => s[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))]!;
  let sum = 0;
  for (const v of s) sum += v;
  return { count: n, p50: at(0.5), p99: at(0.99), p999: at(0.999), max: s[n - 1]!, mean: sum / n };
}

export function fmt(v: number, digits = 2): string {
  if (!Number.isFinite(v)) return 'n/a';
  return v.toFixed(digits);
}

export function fmtInt(v: number): string {
  return Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : 'n/a';
}

export const MB = 1024 * 1024;

/** Samples the RSS of this process every `everyMs` (bounded: stops when asked) and keeps the peak. */
export function rssSampler(everyMs = 50) {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    const rss = process.memoryUsage.rss();
    if (rss > peak) peak = rss;
  }, everyMs);
  timer.unref();
  return {
    /** Peak since the last reset, in bytes. */
    peak: () => Math.max(peak, process.memoryUsage.rss()),
    reset: () => {
      peak = process.memoryUsage.rss();
    },
    stop: () => clearInterval(timer),
  };
}

/** CPU use of this process between two calls, as a share of one core (1.0 = one core busy). */
export function cpuMeter() {
  let last = process.cpuUsage();
  let lastT = now();
  return () => {
    const u = process.cpuUsage(last);
    const t = now();
    const share = (u.user + u.system) / 1000 / (t - lastT);
    last = process.cpuUsage();
    lastT = t;
    return share;
  };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * The time a device message was offered, carried by its event's `data` object (the envelope keeps
 * that reference, so it is found again when the event is stamped, even after waiting). A symbol
 * key: JSON leaves it out. (A WeakMap from data to time cost the measured process more: its
 * entries are ephemerons that every garbage collection has to trace.)
 */
const T0 = Symbol('bench t0');
export function markT0(data: object, t: number): void {
  (data as { [T0]?: number })[T0] = t;
}
export function t0Of(data: object): number | undefined {
  return (data as { [T0]?: number })[T0];
}
