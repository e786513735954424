/**
 * The pictures of BENCHMARKS.md, drawn from the stored results: latency versus offered rate of the
 * gateway, Node-RED and the relay, and RSS over time during their overloads. A small hand-rolled
 * SVG line plot (axes, ticks, a legend; linear or log y): no charting library is needed without a DOM.
 */
import type { StoredResults } from './results.js';

export interface Line {
  label: string;
  points: [number, number][];
  color: string;
  dashed?: boolean;
}

export interface PlotSpec {
  title: string;
  x: string;
  y: string;
  logY?: boolean;
  lines: Line[];
}

const W = 720;
const H = 400;
const M = { left: 64, right: 190, top: 36, bottom: 48 };
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const num = (v: number) => (Math.abs(v) >= 1000 ? v.toLocaleString('en-US') : String(Math.round(v * 100) / 100));

/** A few round tick values from at most lo to at least hi (powers of 10 on a log axis). */
function ticks(lo: number, hi: number, log: boolean): number[] {
  if (log) {
    const out: number[] = [];
    for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) out.push(10 ** e);
    return out;
  }
  const step0 = (hi - lo) / 5 || 1;
  const mag = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= step0)!;
  const out = [Math.floor(lo / step) * step];
  while (out.at(-1)! < hi - step / 1e6) out.push(out.at(-1)! + step);
  return out;
}

/** The SVG of a line plot; points that are not finite (or not > 0 on a log axis) are left out. */
export function lineSvg(spec: PlotSpec): string {
  const ok = ([x, y]: [number, number]) => Number.isFinite(x) && Number.isFinite(y) && (!spec.logY || y > 0);
  const lines = spec.lines.map((l) => ({ ...l, points: l.points.filter(ok) })).filter((l) => l.points.length);
  const all = lines.flatMap((l) => l.points);
  const xs = all.map((p) => p[0]);
  const ys = all.map((p) => p[1]);
  const [x0, x1] = all.length ? [Math.min(0, ...xs), Math.max(...xs)] : [0, 1];
  const [yLo, yHi] = all.length ? [Math.min(...ys), Math.max(...ys)] : [1, 10];
  const yTicks = ticks(spec.logY ? yLo : Math.min(0, yLo), yHi, !!spec.logY);
  const [y0, y1] = [yTicks[0]!, yTicks.at(-1)!];
  const fy = (v: number) => (spec.logY ? Math.log10(v) : v);
  const px = (x: number) => M.left + ((x - x0) / (x1 - x0 || 1)) * (W - M.left - M.right);
  const py = (y: number) => H - M.bottom - ((fy(y) - fy(y0)) / (fy(y1) - fy(y0) || 1)) * (H - M.top - M.bottom);
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">${esc(spec.title)}</text>`,
    `<text x="${(M.left + W - M.right) / 2}" y="${H - 10}" text-anchor="middle">${esc(spec.x)}</text>`,
    `<text transform="translate(16 ${(H - M.bottom + M.top) / 2}) rotate(-90)" text-anchor="middle">${esc(spec.y)}</text>`,
  ];
  for (const t of yTicks)
    out.push(
      `<line x1="${M.left}" x2="${W - M.right}" y1="${py(t)}" y2="${py(t)}" stroke="#ddd"/>`,
      `<text x="${M.left - 6}" y="${py(t) + 4}" text-anchor="end">${num(t)}</text>`,
    );
  for (const t of ticks(x0, x1, false).filter((v) => v <= x1))
    out.push(`<text x="${px(t)}" y="${H - M.bottom + 16}" text-anchor="middle">${num(t)}</text>`);
  out.push(
    `<line x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${H - M.bottom}" stroke="#333"/>`,
    `<line x1="${M.left}" x2="${W - M.right}" y1="${H - M.bottom}" y2="${H - M.bottom}" stroke="#333"/>`,
  );
  lines.forEach((l, i) => {
    const d = l.points.map(([x, y], j) => `${j ? 'L' : 'M'}${px(x).toFixed(1)} ${py(y).toFixed(1)}`).join(' ');
    const dash = l.dashed ? ' stroke-dasharray="6 4"' : '';
    out.push(`<path d="${d}" fill="none" stroke="${l.color}" stroke-width="2"${dash}/>`);
    if (l.points.length < 40)
      for (const [x, y] of l.points) out.push(`<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="3" fill="${l.color}"/>`);
    const ly = M.top + 10 + i * 20;
    out.push(
      `<line x1="${W - M.right + 12}" x2="${W - M.right + 40}" y1="${ly}" y2="${ly}" stroke="${l.color}" stroke-width="2"${dash}/>`,
      `<text x="${W - M.right + 46}" y="${ly + 4}">${esc(l.label)}</text>`,
    );
  });
  if (!lines.length) out.push(`<text x="${W / 2}" y="${H / 2}" text-anchor="middle">no results yet: run the bench</text>`);
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

/** The systems compared, their sweep section, their overload section, and a colour. */
export const SYSTEMS = [
  { name: 'gateway', sweep: 'pipeline', overload: 'overload', color: '#1f77b4' },
  { name: 'Node-RED', sweep: 'node-red', overload: 'node-red', color: '#d62728' },
  { name: 'relay', sweep: 'bare-relay', overload: 'relay-overload', color: '#7f7f7f' },
] as const;

/** p50 / p99 per offered rate from a section's rate sweep table (a retried rate: its last row). */
export function sweepPoints(stored: StoredResults, id: string): { p50: [number, number][]; p99: [number, number][] } {
  const s = stored.sections[id];
  const t = s?.status === 'failed' ? undefined : s?.result.tables?.find((x) => x.title.startsWith('Rate sweep'));
  if (!t) return { p50: [], p99: [] };
  const col = (name: string) => t.columns.indexOf(name);
  const byRate = new Map<number, [number, number]>();
  for (const row of t.rows) {
    const rate = Number(String(row[col('offered rate')]).split(' ')[0]!.replace(/,/g, ''));
    if (Number.isFinite(rate)) byRate.set(rate, [Number(row[col('p50 ms')]), Number(row[col('p99 ms')])]);
  }
  const rates = [...byRate.keys()].sort((a, b) => a - b);
  return { p50: rates.map((r) => [r, byRate.get(r)![0]]), p99: rates.map((r) => [r, byRate.get(r)![1]]) };
}

/** The plots, by file name (written next to the results file), with their alt text. */
export function benchPlots(stored: StoredResults): { file: string; alt: string; svg: string }[] {
  const latency: Line[] = SYSTEMS.flatMap((sys) => {
    const p = sweepPoints(stored, sys.sweep);
    return [
      { label: `${sys.name} p50`, points: p.p50, color: sys.color },
      { label: `${sys.name} p99`, points: p.p99, color: sys.color, dashed: true },
    ];
  });
  const rss: Line[] = SYSTEMS.map((sys) => {
    const s = stored.sections[sys.overload];
    const series = s?.status === 'failed' ? undefined : s?.result.series?.find((x) => x.id === 'overloadRss');
    return { label: sys.name, points: series?.points ?? [], color: sys.color };
  });
  return [
    {
      file: 'bench-latency.svg',
      alt: 'Latency p50 and p99 versus offered rate: gateway, Node-RED, relay',
      svg: lineSvg({ title: 'Latency versus offered rate (same load)', x: 'offered events/s', y: 'latency ms (log)', logY: true, lines: latency }),
    },
    {
      file: 'bench-overload-rss.svg',
      alt: 'RSS over time during the overload (3x the gateway capacity): gateway, Node-RED, relay',
      svg: lineSvg({ title: 'RSS during the overload (3x gateway capacity)', x: 's from the start of the overload', y: 'RSS MB', lines: rss }),
    },
  ];
}
