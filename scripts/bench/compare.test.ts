/**
 * The three-system comparison and the plots of BENCHMARKS.md, from stored results (nothing timed):
 * which figures the table reads, the ratios and budgets, what happens when a section failed or
 * never ran, and that the plots draw the points of each system's sweep and overload.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { comparison } from './compare.js';
import { gatewayCapacity } from './peer.js';
import { STEP_COLUMNS } from './load.js';
import { benchPlots, lineSvg, sweepPoints } from './plots.js';
import { renderMarkdown, type StoredResults, type StoredSection } from './report.js';
import type { Figure } from './types.js';

const machine = { cpu: 'test cpu', cores: 2, ramGiB: 4, node: 'v20', os: 'linux', loadAvg: [0, 0, 0] };
const fig = (id: string, value: number | string): Figure => ({ id, name: id, value });
/** A sweep table row: offered rate label, p50, p99 (the other cells do not matter here). */
const row = (label: string, p50: string, p99: string) =>
  STEP_COLUMNS.map((c) => (c === 'offered rate' ? label : c === 'p50 ms' ? p50 : c === 'p99 ms' ? p99 : '0'));

function section(id: string, figures: Figure[], over: Partial<StoredSection['result']> = {}, status: 'ok' | 'failed' = 'ok'): StoredSection {
  return {
    id,
    title: `Section ${id}`,
    command: 'npm run bench',
    date: '2026-05-01T10:00:00.000Z',
    durationS: 1,
    quick: false,
    machine,
    status,
    result: { figures, ...over },
  };
}

function stored(over: Record<string, StoredSection> = {}): StoredResults {
  const sections: Record<string, StoredSection> = {
    pipeline: section('pipeline', [fig('maxSustained', 20_000), fig('p50At2k', 1.5), fig('p99At2k', 4)], {
      tables: [{ title: 'Rate sweep (first row: the fixed moderate rate)', columns: STEP_COLUMNS, rows: [row('2,000', '1.5', '4'), row('5,000', '2', '6'), row('10,000', '9', '400'), row('10,000 retry', '3', '8')] }],
    }),
    'bare-relay': section('bare-relay', [fig('maxSustained', 15_000), fig('p50At2k', 2), fig('p99At2k', 5)]),
    'node-red': section('node-red', [fig('maxSustained', 5_000), fig('alarmP99', '> 15,024'), fig('rssPeak', 625), fig('coldStart', 724)], {
      series: [{ id: 'overloadRss', title: 'Node-RED RSS', x: 't s', y: 'RSS MB', points: [[0, 200], [1, 400], [2, 600]] }],
    }),
    overload: section('overload', [fig('alarmP99', 12), fig('rssPeak', 150)], {
      series: [{ id: 'overloadRss', title: 'gateway RSS', x: 't s', y: 'RSS MB', points: [[0, 120], [1, 140]] }],
    }),
    'relay-overload': section('relay-overload', [fig('alarmP99', 7_187.69), fig('rssPeak', 136), fig('coldStart', 489)]),
    'cold-start': section('cold-start', [fig('firstEvent', 4_250)]),
    ...over,
  };
  return { format: 1, sections, lastRun: { date: '2026-05-01T10:00:00.000Z', command: 'npm run bench', quick: false, sections: Object.keys(sections) } };
}

describe('three systems side by side', () => {
  it('reads each system from its sections, with the ratios and the comparative budgets', () => {
    const c = comparison(stored());
    expect(c.rows[0]).toEqual(['max sustained rate (events/s)', '20,000', '5,000', '15,000', '1.33x', '4x']);
    expect(c.rows[3]).toEqual(['alarm p99, telemetry at 3x gateway capacity (ms)', '12', '> 15,024', '7,187.69', '0.00167x', 'n/a']);
    expect(c.rows[5]).toEqual(['cold start to first event (ms)', '4,250', '724', '489', '8.69x', '5.87x']);
    const md = renderMarkdown(stored(), ['pipeline', 'bare-relay', 'overload', 'node-red', 'relay-overload', 'cold-start']);
    expect(md).toContain('## Same load, three systems');
    expect(md).toContain('| max sustained rate (events/s) | 20,000 | 5,000 | 15,000 | 1.33x | 4x |');
    expect(md).toContain('| gateway max sustained / relay max sustained | 1.33 x | >= 1 x | met |');
    expect(md).toContain('| gateway max sustained / Node-RED max sustained | 4 x | >= 2 x | met |');
    expect(md).toContain('| gateway cold start with 20,000 devices | 4,250 ms | <= 3,000 ms | NOT met |');
    expect(md).toContain('](bench-latency.svg)');
    expect(md).toContain('](bench-overload-rss.svg)');
    expect(md).not.toContain('Not all from the latest run');
    expect(md).not.toContain('quick smoke runs');
    // No rate sustained by the gateway: a ratio of 0, not n/a, and the budget is not met.
    const none = comparison(stored({ pipeline: section('pipeline', [fig('maxSustained', 0)]) }));
    expect(none.budgets.find((b) => b.id === 'maxOverRelay')!.value).toBe(0);
  });

  it('shows n/a for a failed or missing section and says which ones are missing', () => {
    const s = stored({ 'node-red': section('node-red', [], {}, 'failed') });
    delete s.sections['cold-start'];
    const c = comparison(s);
    expect(c.rows[0]).toEqual(['max sustained rate (events/s)', '20,000', 'n/a', '15,000', '1.33x', 'n/a']);
    expect(c.budgets.find((b) => b.id === 'maxOverNodeRed')!.value).toBeNaN();
    const md = renderMarkdown(s, []);
    expect(md).toContain('`node-red` 2026-05-01 10:00 UTC (FAILED)');
    expect(md).toContain('not run yet: `cold-start`');
    expect(md).toContain('| gateway max sustained / Node-RED max sustained | n/a | >= 2 x |  |');
  });

  it('has no comparison when none of its sections ran', () => {
    const md = renderMarkdown({ format: 1, sections: { other: section('other', [fig('x', 1)]) } }, ['other']);
    expect(md).not.toContain('Same load, three systems');
  });
});

describe('plots', () => {
  it('takes each rate of a sweep once, the retry replacing the failed try', () => {
    expect(sweepPoints(stored(), 'pipeline')).toEqual({
      p50: [[2_000, 1.5], [5_000, 2], [10_000, 3]],
      p99: [[2_000, 4], [5_000, 6], [10_000, 8]],
    });
    expect(sweepPoints(stored(), 'bare-relay')).toEqual({ p50: [], p99: [] });
  });

  it('draws one line per system with points, leaves out what cannot be drawn, escapes labels', () => {
    const [latency, rss] = benchPlots(stored());
    expect(latency!.file).toBe('bench-latency.svg');
    // Only the gateway's sweep has a table here: its p50 and p99.
    expect(latency!.svg.match(/<path /g)).toHaveLength(2);
    expect(latency!.svg).toContain('>gateway p99<');
    expect(rss!.svg.match(/<path /g)).toHaveLength(2);
    expect(rss!.svg).toMatch(/<svg [^>]*viewBox/);

    const svg = lineSvg({
      title: 'a <b> & c',
      x: 'x',
      y: 'y',
      logY: true,
      lines: [{ label: 'l', color: '#000', points: [[1, 1], [2, 0], [3, Number.NaN], [4, 1_000]] }],
    });
    expect(svg).toContain('a &lt;b&gt; &amp; c');
    expect(svg.match(/<circle /g)).toHaveLength(2); // 0 and NaN are not drawn on a log axis
    for (const t of ['>1<', '>10<', '>100<', '>1,000<']) expect(svg).toContain(t);
    // A linear axis reaches past the highest value: 386 MB gets a 400 tick.
    expect(lineSvg({ title: 't', x: 'x', y: 'y', lines: [{ label: 'l', color: '#000', points: [[0, 120], [1, 386]] }] })).toContain('>400<');
    expect(lineSvg({ title: 't', x: 'x', y: 'y', lines: [] })).toContain('no results yet');
  });
});

describe('the gateway capacity the peers overload at', () => {
  const file = join(mkdtempSync(join(tmpdir(), 'bench-capacity-')), 'BENCHMARKS.md');
  afterEach(() => {
    delete process.env.BENCH_RUN_RESULTS;
  });

  it('takes the overload calibration of this run first, then the stored results, then the pipeline, then a default', () => {
    const withOverload = stored({ overload: section('overload', [fig('capacity', 8_000)]) });
    writeFileSync(file, renderMarkdown(withOverload, []));
    process.env.BENCH_RUN_RESULTS = JSON.stringify({ overload: { figures: [fig('capacity', 12_000)] } });
    expect(gatewayCapacity(file)).toEqual({ rate: 12_000, source: '`overload` capacity of this run' });
    delete process.env.BENCH_RUN_RESULTS;
    expect(gatewayCapacity(file).rate).toBe(8_000);
    // A failed overload is not a capacity: the pipeline's max sustained is.
    writeFileSync(file, renderMarkdown(stored({ overload: section('overload', [fig('capacity', 8_000)], {}, 'failed') }), []));
    expect(gatewayCapacity(file)).toMatchObject({ rate: 20_000, source: expect.stringContaining('`pipeline` maxSustained') });
    expect(gatewayCapacity(join(file, 'missing.md')).rate).toBe(10_000);
  });
});
