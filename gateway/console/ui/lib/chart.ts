/**
 * Line charts over time for the console's pages, a small wrapper over uPlot (canvas, ~50 kB):
 *
 *   const chart = lineChart(el, [{ label: '燃气浓度', unit: '%LEL', points: [[epochMs, 12.5], ...] }], { height: 240 });
 *   chart.update(newSeries);   // same chart, new data
 *   chart.destroy();           // when the page goes (e.g. in a useEffect cleanup)
 *
 * The x axis is time (epoch ms in, local time shown in the UI's language: zh-CN or en, 24 h);
 * series may have their points at different times (they are merged onto one time axis, a missing
 * value is a gap bridged by the line). The chart takes its element's width and follows it when it
 * changes. uPlot's stylesheet is added to the page once (the console bundle has one CSS file).
 */
import uPlot from 'uplot';
import { lang, type Lang } from './i18n.js';
import { addStyle } from './page-style.js';

export interface ChartSeries {
  label: string;
  unit?: string;
  /** [epoch ms, value]; null is a gap. Any order. */
  points: readonly (readonly [number, number | null])[];
  /** CSS colour; a palette colour by position if omitted. */
  color?: string;
}

export interface ChartOptions {
  /** Pixels; default 240. */
  height?: number;
  /** Default: the UI's current language. */
  lang?: Lang;
  /** Shown above the plot. */
  title?: string;
}

export interface LineChart {
  update(series: readonly ChartSeries[]): void;
  destroy(): void;
  /** The uPlot instance (for pages that need more). */
  readonly plot: uPlot;
}

const PALETTE = ['#d32f2f', '#1976d2', '#388e3c', '#f57c00', '#7b1fa2', '#00838f', '#5d4037', '#455a64'];

/** Series on one time axis: uPlot's aligned data (x in seconds, ascending). */
export function alignSeries(series: readonly ChartSeries[]): uPlot.AlignedData {
  const xs = [...new Set(series.flatMap((s) => s.points.map((p) => p[0])))].sort((a, b) => a - b);
  const index = new Map(xs.map((x, i) => [x, i]));
  const ys = series.map((s) => {
    const col: (number | null)[] = new Array<number | null>(xs.length).fill(null);
    for (const [x, y] of s.points) col[index.get(x)!] = y;
    return col;
  });
  return [xs.map((x) => x / 1000), ...ys];
}

/** A tick label: time of day within two days, else date and time. */
function timeLabel(l: Lang, sec: number, spanSec: number): string {
  const d = new Date(sec * 1000);
  const opts: Intl.DateTimeFormatOptions =
    spanSec <= 2 * 86_400
      ? { hour: '2-digit', minute: '2-digit', hour12: false }
      : { month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hour12: false };
  return d.toLocaleString(l, opts);
}

const fullTime = (l: Lang, sec: number): string =>
  new Date(sec * 1000).toLocaleString(l, {
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hour12: false,
  });

function options(series: readonly ChartSeries[], width: number, o: ChartOptions, ink: string): uPlot.Options {
  const l = o.lang ?? lang();
  // Axes in the page's text colour (the console is dark), grid lines faint.
  const axis = { stroke: ink, grid: { stroke: `${ink}22`, width: 1 }, ticks: { stroke: `${ink}44`, width: 1 } };
  return {
    width,
    height: o.height ?? 240,
    ...(o.title ? { title: o.title } : {}),
    scales: { x: { time: true } },
    series: [
      { label: l === 'zh-CN' ? '时间' : 'Time', value: (_u, v) => (v == null ? '' : fullTime(l, v)) },
      ...series.map((s, i) => ({
        label: s.unit ? `${s.label} (${s.unit})` : s.label,
        stroke: s.color ?? PALETTE[i % PALETTE.length],
        width: 2,
        spanGaps: true,
        points: { show: false },
      })),
    ],
    axes: [
      {
        ...axis,
        values: (u, splits) => {
          const span = (u.scales.x!.max ?? 0) - (u.scales.x!.min ?? 0);
          return splits.map((s) => timeLabel(l, s, span));
        },
      },
      axis,
    ],
  };
}

export function lineChart(el: HTMLElement, series: readonly ChartSeries[], o: ChartOptions = {}): LineChart {
  addStylesheet();
  const width = () => Math.max(el.clientWidth, 200);
  const ink = hexColor(getComputedStyle(el).color);
  let plot = new uPlot(options(series, width(), o, ink), alignSeries(series), el);
  let shape = series.map((s) => `${s.label}|${s.unit ?? ''}`).join('\n');
  const resize = new ResizeObserver(() => plot.setSize({ width: width(), height: o.height ?? 240 }));
  resize.observe(el);
  return {
    update(next) {
      const nextShape = next.map((s) => `${s.label}|${s.unit ?? ''}`).join('\n');
      if (nextShape === shape) {
        plot.setData(alignSeries(next));
        return;
      }
      // Other series: a new plot (uPlot's series list is fixed at creation).
      plot.destroy();
      plot = new uPlot(options(next, width(), o, ink), alignSeries(next), el);
      shape = nextShape;
    },
    destroy() {
      resize.disconnect();
      plot.destroy();
    },
    get plot() {
      return plot;
    },
  };
}

/** `rgb(238, 241, 244)` -> `#eef1f4` (so an alpha can be appended); black if unreadable. */
export function hexColor(css: string): string {
  const m = /rgba?\((\d+),\s*(\d+),\s*(\d+)/.exec(css);
  if (!m) return '#000000';
  return `#${m.slice(1, 4).map((n) => Number(n).toString(16).padStart(2, '0')).join('')}`;
}

/** uPlot's own stylesheet (uplot/dist/uPlot.min.css, MIT), added to the page once (as a constructed sheet: the CSP allows no style element). */
const addStylesheet = (): void => addStyle('uplot', UPLOT_CSS);

const UPLOT_CSS = `.uplot,.uplot *,.uplot *::before,.uplot *::after{box-sizing:border-box}
.uplot{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Noto Sans CJK SC","Microsoft YaHei",sans-serif;line-height:1.5;width:min-content}
.u-title{text-align:center;font-size:18px;font-weight:bold}
.u-wrap{position:relative;user-select:none}
.u-over,.u-under{position:absolute}
.u-under{overflow:hidden}
.uplot canvas{display:block;position:relative;width:100%;height:100%}
.u-axis{position:absolute}
.u-legend{font-size:14px;margin:auto;text-align:center}
.u-inline{display:block}
.u-inline *{display:inline-block}
.u-inline tr{margin-right:16px}
.u-legend th{font-weight:600}
.u-legend th>*{vertical-align:middle;display:inline-block}
.u-legend .u-marker{width:1em;height:1em;margin-right:4px;background-clip:padding-box!important}
.u-inline.u-live th::after{content:":";vertical-align:middle}
.u-inline:not(.u-live) .u-value{display:none}
.u-series>*{padding:4px}
.u-series th{cursor:pointer}
.u-legend .u-off>*{opacity:.3}
.u-select{background:rgba(0,0,0,.07);position:absolute;pointer-events:none}
.u-cursor-x,.u-cursor-y{position:absolute;left:0;top:0;pointer-events:none;will-change:transform}
.u-hz .u-cursor-x,.u-vt .u-cursor-y{height:100%;border-right:1px dashed #607D8B}
.u-hz .u-cursor-y,.u-vt .u-cursor-x{width:100%;border-bottom:1px dashed #607D8B}
.u-cursor-pt{position:absolute;top:0;left:0;border-radius:50%;border:0 solid;pointer-events:none;will-change:transform;background-clip:padding-box!important}
.u-axis.u-off,.u-select.u-off,.u-cursor-x.u-off,.u-cursor-y.u-off,.u-cursor-pt.u-off{display:none}`;
