import type { Logger } from '../core/logger.js';
import type { DeniedEvent, DenyReason } from './deny-reasons.js';

/**
 * Logging of the broker's refusals, bounded: a repeated refusal is logged at most once per
 * interval, with how many were suppressed since, so that a client (or an attacker) repeating
 * itself cannot flood the log. Every refusal is still counted by `onDenied`.
 */

/** A repeated refusal (same reason, source, client, topic) is logged at most once per interval. */
const LOG_REPEAT_MS = 60_000;
/** Refusals that can come in floods: logged per reason and source only, whoever the client claims to be. */
const FLOOD_REASONS: ReadonlySet<DenyReason> = new Set([
  'throttled',
  'protocol-error',
  'timeout',
  'max-connections',
  'max-connections-per-source',
  'packet-too-large',
  'malformed-length',
  'first-packet-not-connect',
]);

/** Logs a refusal unless the same one was logged less than an interval ago. */
export function refusalLogger(log: Logger): (event: DeniedEvent) => void {
  const logLimiter = repeatLimiter(LOG_REPEAT_MS);
  return (event) => {
    const flood = FLOOD_REASONS.has(event.reason);
    const key = flood
      ? `${event.action}|${event.reason}|${event.source}`
      : `${event.action}|${event.reason}|${event.source}|${event.username}|${event.clientId}|${event.topic}`;
    const suppressed = logLimiter(key);
    if (suppressed === undefined) return;
    // A lockout was already logged once by the login guard.
    const level = event.reason === 'throttled' ? 'debug' : 'warn';
    log[level]({ ...event, ...(suppressed > 0 ? { suppressed } : {}) }, `${event.action} denied: ${event.reason}`);
  };
}

/**
 * Lets one log line through per key and interval; returns how many were suppressed since the last
 * one, or undefined when this one is suppressed. Keeps at most 10,000 keys.
 */
function repeatLimiter(intervalMs: number): (key: string) => number | undefined {
  const seen = new Map<string, { at: number; suppressed: number }>();
  return (key) => {
    const now = Date.now();
    const entry = seen.get(key);
    if (entry && now - entry.at < intervalMs) {
      entry.suppressed++;
      return undefined;
    }
    seen.delete(key);
    seen.set(key, { at: now, suppressed: 0 });
    if (seen.size > 10_000) seen.delete(seen.keys().next().value!);
    return entry?.suppressed ?? 0;
  };
}
