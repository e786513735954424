import { z } from 'zod';
import { GatewayError } from './errors.js';

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses a duration like `30s`, `5m`, `2h`, `7d` into milliseconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text.trim());
  if (!m)
    throw new GatewayError(
      'BAD_DURATION',
      `"${text}" is not a duration`,
      'write a number and a unit: 500ms, 30s, 5m, 2h, 7d',
    );
  return m[2] === 'ms' ? Number(m[1]) : Number(m[1]) * UNITS[m[2]!]!;
}

/** `--since` accepts a duration back from now (`1h`) or an ISO 8601 time. */
export function parseSince(text: string, now = Date.now()): Date {
  if (/^\d+(\.\d+)?(ms|s|m|h|d)$/.test(text)) return new Date(now - parseDuration(text));
  const t = Date.parse(text);
  if (Number.isNaN(t))
    throw new GatewayError(
      'BAD_TIME',
      `"${text}" is neither a duration nor a time`,
      'use e.g. 1h, 2d or 2026-11-23T08:00:00Z',
    );
  return new Date(t);
}

/** A duration such as `500ms`, `30s`, `5m`, `2h`. */
export const Duration = z.string().refine(
  (s) => {
    try {
      parseDuration(s);
      return true;
    } catch {
      return false;
    }
  },
  { message: 'not a duration: write a number and a unit, e.g. 500ms, 30s, 5m, 2h' },
);
