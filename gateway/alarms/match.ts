/** Pure matching helpers of the rule engine: device selectors, thresholds, type patterns, templates. */
import type { DeviceRef } from '../core/envelope.js';
import type { Comparison, Rule, Selector, Where } from '../core/rule-schema.js';

const list = (v: string | string[] | undefined): string[] | undefined =>
  v === undefined ? undefined : Array.isArray(v) ? v : [v];

export function selectorMatches(sel: Selector | undefined, d: DeviceRef): boolean {
  if (!sel) return true;
  const has = (want: string | string[] | undefined, value: string | undefined) => {
    const l = list(want);
    return !l || (value !== undefined && l.includes(value));
  };
  return (
    has(sel.family, d.family) &&
    has(sel.id, d.id) &&
    has(sel.building, d.building) &&
    has(sel.zone, d.zone) &&
    (!sel.tags || sel.tags.every((t) => d.tags.includes(t)))
  );
}

/** Families a selector names, or undefined when it does not restrict the family. */
export function selectorFamilies(sel: Selector | undefined): string[] | undefined {
  return list(sel?.family);
}

export function typePatterns(t: string | string[]): string[] {
  return Array.isArray(t) ? t : [t];
}

export function typeMatches(patterns: readonly string[], type: string): boolean {
  return patterns.some((p) => (p.endsWith('.*') ? type.startsWith(p.slice(0, -1)) : p === type));
}

export function getPath(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const k of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur;
}

function compare(c: Comparison | string | number | boolean, v: unknown): boolean {
  if (typeof c !== 'object') return v === c;
  const n = typeof v === 'number' ? v : Number.NaN;
  if (c.gt !== undefined && !(n > c.gt)) return false;
  if (c.gte !== undefined && !(n >= c.gte)) return false;
  if (c.lt !== undefined && !(n < c.lt)) return false;
  if (c.lte !== undefined && !(n <= c.lte)) return false;
  if (c.eq !== undefined && v !== c.eq) return false;
  if (c.ne !== undefined && v === c.ne) return false;
  if (c.in !== undefined && !c.in.includes(v as string | number | boolean)) return false;
  return true;
}

/** Every condition must hold; a missing field fails its condition. */
export function whereMatches(where: Where | undefined, data: Record<string, unknown>): boolean {
  if (!where) return true;
  for (const [path, c] of Object.entries(where)) if (!compare(c, getPath(data, path))) return false;
  return true;
}

/** `device` -> the device id; otherwise `building:B1`, `zone:B1/kitchen-101`, `site`. */
export function subjectOf(subject: Rule['subject'], d: DeviceRef): string {
  switch (subject) {
    case 'device':
      return d.id;
    case 'zone':
      return `zone:${d.building ?? '-'}/${d.zone ?? '-'}`;
    case 'building':
      return `building:${d.building ?? '-'}`;
    case 'site':
      return 'site';
  }
}

/** Fills `{path}` placeholders from `ctx`; unknown paths render as `?`. */
export function renderTemplate(template: string, ctx: Record<string, unknown>): string {
  return template.replace(/\{([a-zA-Z0-9_.]+)\}/g, (_, path: string) => {
    const v = getPath(ctx, path);
    return v === undefined || v === null ? '?' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  });
}

/**
 * `{data.<path>}` or `{device.id|building|zone}` as a whole argument value: taken from the
 * triggering event's data, or from the alarm's device, when the action runs.
 */
const EVENT_ARG = /^\{(data\.[a-zA-Z0-9_.]+|device\.(?:id|building|zone))\}$/;

export const isEventArg = (v: unknown): boolean => typeof v === 'string' && EVENT_ARG.test(v);

/**
 * An action's arguments for one alarm: each `{data.<path>}` value becomes the value at that path
 * of the trigger's data, with its type (e.g. the port number of an overcurrent), each
 * `{device.<field>}` that field of the alarm's device (e.g. the device a camera should show); a
 * missing one is left out, so the command's own argument check says what is missing.
 */
export function fillArgs(
  args: Record<string, unknown>,
  data: Record<string, unknown>,
  device?: DeviceRef,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(args)) {
    const m = typeof v === 'string' ? EVENT_ARG.exec(v) : null;
    const value = !m ? v : m[1]!.startsWith('data.') ? getPath(data, m[1]!.slice(5)) : device?.[m[1]!.slice(7) as 'id' | 'building' | 'zone'];
    if (value !== undefined) out[k] = value;
  }
  return out;
}
