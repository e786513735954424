/**
 * "Same load, three systems": the gateway, Node-RED and the bare relay side by side, read from the
 * stored results of their sections (pipeline / overload / cold-start for the gateway, node-red,
 * bare-relay / relay-overload for the relay), with the ratios and the comparative budgets.
 */
import type { StoredResults } from './results.js';
import type { Figure } from './types.js';

type Ref = readonly [section: string, figure: string];

interface Metric {
  name: string;
  unit: string;
  gateway: Ref;
  nodeRed: Ref;
  relay: Ref;
}

export const METRICS: Metric[] = [
  { name: 'max sustained rate', unit: 'events/s', gateway: ['pipeline', 'maxSustained'], nodeRed: ['node-red', 'maxSustained'], relay: ['bare-relay', 'maxSustained'] },
  { name: 'latency p50 at 2,000 events/s', unit: 'ms', gateway: ['pipeline', 'p50At2k'], nodeRed: ['node-red', 'p50At2k'], relay: ['bare-relay', 'p50At2k'] },
  { name: 'latency p99 at 2,000 events/s', unit: 'ms', gateway: ['pipeline', 'p99At2k'], nodeRed: ['node-red', 'p99At2k'], relay: ['bare-relay', 'p99At2k'] },
  { name: 'alarm p99, telemetry at 3x gateway capacity', unit: 'ms', gateway: ['overload', 'alarmP99'], nodeRed: ['node-red', 'alarmP99'], relay: ['relay-overload', 'alarmP99'] },
  { name: 'peak RSS under overload', unit: 'MB', gateway: ['overload', 'rssPeak'], nodeRed: ['node-red', 'rssPeak'], relay: ['relay-overload', 'rssPeak'] },
  { name: 'cold start to first event', unit: 'ms', gateway: ['cold-start', 'firstEvent'], nodeRed: ['node-red', 'coldStart'], relay: ['relay-overload', 'coldStart'] },
];

/** A figure's value from the stored results; undefined when the section is missing or failed. */
export function figureValue(stored: StoredResults, [section, id]: Ref): number | string | undefined {
  const s = stored.sections[section];
  if (!s || s.status === 'failed') return undefined;
  return s.result.figures.find((f) => f.id === id)?.value;
}

const cell = (v: number | string | undefined) =>
  v === undefined ? 'n/a' : typeof v === 'number' ? (Number.isFinite(v) ? v.toLocaleString('en-US') : 'n/a') : v;

/** gateway / other, 3 significant digits (0 when the gateway's is 0); NaN unless both are numbers and the other's is positive. */
export function ratio(a: number | string | undefined, b: number | string | undefined): number {
  return typeof a === 'number' && typeof b === 'number' && a >= 0 && b > 0 ? Number((a / b).toPrecision(3)) : Number.NaN;
}

export interface Comparison {
  columns: string[];
  rows: string[][];
  /** Comparative budgets, as figures (rendered with their verdict). */
  budgets: Figure[];
  /** The sections the table reads, for the dates. */
  sections: string[];
}

export function comparison(stored: StoredResults): Comparison {
  const rows = METRICS.map((m) => {
    const [g, n, r] = [m.gateway, m.nodeRed, m.relay].map((ref) => figureValue(stored, ref));
    const fmtRatio = (x: number) => (Number.isFinite(x) ? `${x}x` : 'n/a');
    return [`${m.name} (${m.unit})`, cell(g), cell(n), cell(r), fmtRatio(ratio(g, r)), fmtRatio(ratio(g, n))];
  });
  const max = METRICS[0]!;
  const gMax = figureValue(stored, max.gateway);
  const budgets: Figure[] = [
    {
      id: 'maxOverRelay',
      name: 'gateway max sustained / relay max sustained',
      value: ratio(gMax, figureValue(stored, max.relay)),
      unit: 'x',
      budget: { op: '>=', value: 1, source: 'performance budget: the gateway keeps up with the bare relay floor' },
    },
    {
      id: 'maxOverNodeRed',
      name: 'gateway max sustained / Node-RED max sustained',
      value: ratio(gMax, figureValue(stored, max.nodeRed)),
      unit: 'x',
      budget: { op: '>=', value: 2, source: 'performance budget: at least twice Node-RED on the same job' },
    },
    {
      id: 'coldStart',
      name: 'gateway cold start with 20,000 devices',
      value: figureValue(stored, ['cold-start', 'firstEvent']) ?? Number.NaN,
      unit: 'ms',
      budget: { op: '<=', value: 3_000, source: 'performance budget: cold start' },
    },
    {
      id: 'rss',
      name: 'gateway peak RSS under overload',
      value: figureValue(stored, ['overload', 'rssPeak']) ?? Number.NaN,
      unit: 'MB',
      budget: { op: '<=', value: 200, source: 'performance budget: peak RSS' },
    },
  ];
  const sections = [...new Set(METRICS.flatMap((m) => [m.gateway[0], m.nodeRed[0], m.relay[0]]))];
  return { columns: ['figure', 'gateway', 'Node-RED', 'relay', 'gateway / relay', 'gateway / Node-RED'], rows, budgets, sections };
}
