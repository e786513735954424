/**
 * Counts inbound device input a driver refused (bad credentials, shape, size, unknown sender)
 * and logs it. Refusals come from the network, so a flood must not flood the journal: per
 * reason at most one warn line per window, the next line saying how many were left out.
 */
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';

export type RefusedFn = (reason: string, detail?: Record<string, unknown>) => void;

/** Longest reason kept as a metric label; a longer one is cut (labels must stay few and short). */
const MAX_REASON = 48;
/** Distinct reasons per driver before the rest are counted as `other` (bounded label set). */
const MAX_REASONS = 32;

export interface RefusalCounterOptions {
  driver: string;
  family: string;
  metrics: Metrics;
  log: Logger;
  /** One log line per reason per window (default 10 s). */
  windowMs?: number;
  /** Monotonic ms; injectable in tests. */
  now?: () => number;
}

export function refusalCounter(o: RefusalCounterOptions): RefusedFn {
  const windowMs = o.windowMs ?? 10_000;
  const now = o.now ?? (() => performance.now());
  const lastLogged = new Map<string, { at: number; suppressed: number }>();
  return (rawReason, detail) => {
    let reason = String(rawReason).slice(0, MAX_REASON) || 'unspecified';
    if (!lastLogged.has(reason) && lastLogged.size >= MAX_REASONS) reason = 'other';
    o.metrics.driverRefused.inc({ driver: o.driver, family: o.family, reason });
    const t = now();
    const entry = lastLogged.get(reason);
    if (entry && t - entry.at < windowMs) {
      entry.suppressed++;
      return;
    }
    const suppressed = entry?.suppressed ?? 0;
    lastLogged.set(reason, { at: t, suppressed: 0 });
    o.log.warn(
      { driver: o.driver, family: o.family, reason, ...(suppressed ? { suppressed } : {}), ...(detail ? { detail } : {}) },
      suppressed ? `device input refused (${suppressed} more since the last line)` : 'device input refused',
    );
  };
}
