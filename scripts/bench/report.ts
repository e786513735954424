/**
 * Rendering of bench results: the stdout table and docs/BENCHMARKS.md, regenerated whole from the
 * raw results, which it carries in its last block (JSON between two markers) for the next run.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg, release, totalmem } from 'node:os';
import { comparison } from './compare.js';
import { benchPlots } from './plots.js';
import { failed, type Machine, type StoredResults, type StoredSection } from './results.js';
import type { Figure, Table } from './types.js';

export { failed, type Machine, type RunInfo, type StoredResults, type StoredSection } from './results.js';


/**
 * Folds a run's sections into the stored results: each section run this time replaces its older
 * entry, a failure too (an older result is never kept as if it were current; the date of the
 * last success is remembered). Sections not run keep their entry and its own date.
 */
export function mergeRun(
  stored: StoredResults,
  fresh: StoredSection[],
  run: { date: string; command: string; quick: boolean },
): StoredResults {
  const sections = { ...stored.sections };
  for (const s of fresh) {
    const old = sections[s.id];
    if (failed(s) && old) {
      const previousOk = failed(old) ? old.previousOk : { date: old.date, command: old.command };
      sections[s.id] = previousOk ? { ...s, previousOk } : s;
    } else sections[s.id] = s;
  }
  return { format: 1, sections, lastRun: { ...run, sections: fresh.map((s) => s.id) } };
}

/** `2026-11-23 10:43 UTC` from an ISO date. */
export function shortDate(iso: string): string {
  return `${iso.slice(0, 16).replace('T', ' ')} UTC`;
}

/** Collapses runs of identical lines (a stack overflow's frames) into one line and a count. */
export function compactLines(lines: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < lines.length; ) {
    let j = i + 1;
    while (j < lines.length && lines[j] === lines[i]) j++;
    out.push(lines[i]!);
    if (j - i > 2) out.push(`    ... (the line above ${j - i - 1} more times)`);
    else if (j - i === 2) out.push(lines[i]!);
    i = j;
  }
  return out;
}

const firstLine = (text: string | undefined) => (text ?? '').trim().split('\n')[0] ?? '';

export function machine(): Machine {
  let cpu = 'unknown';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m?.[1]) cpu = m[1].trim();
  } catch {
    // not Linux: keep "unknown"
  }
  return {
    cpu,
    cores: availableParallelism(),
    ramGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    os: `${process.platform} ${release()}`,
    loadAvg: loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

export function value(f: Figure): string {
  if (f.value === null || (typeof f.value === 'number' && !Number.isFinite(f.value))) return 'n/a';
  const v = typeof f.value === 'number' ? f.value.toLocaleString('en-US') : f.value;
  return f.unit ? `${v} ${f.unit}` : v;
}

export function budgetText(f: Figure): string {
  return f.budget
    ? `${f.budget.op} ${f.budget.value.toLocaleString('en-US')}${f.unit ? ` ${f.unit}` : ''}`
    : '';
}

/** `met`, `NOT met`, or '' when the figure has no budget or no value. */
export function verdict(f: Figure): string {
  if (!f.budget || typeof f.value !== 'number' || !Number.isFinite(f.value)) return '';
  const ok = f.budget.op === '<=' ? f.value <= f.budget.value : f.value >= f.budget.value;
  return ok ? 'met' : 'NOT met';
}

/** A plain-text table for the terminal. */
export function textTable(columns: string[], rows: (string | number)[][]): string {
  const cells = [columns, ...rows.map((r) => r.map(String))];
  const widths = columns.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) =>
    r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(cells[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join(
    '\n',
  );
}

function mdTable(columns: string[], rows: (string | number)[][]): string {
  const esc = (c: string | number) => String(c).replace(/\|/g, '\\|');
  return [
    `| ${columns.map(esc).join(' | ')} |`,
    `|${columns.map((_, i) => (i === 0 || (i === 1 && columns[0] === 'section') ? ' --- ' : ' ---: ')).join('|')}|`,
    ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`),
  ].join('\n');
}

export function figureRows(figures: Figure[]): string[][] {
  return figures.map((f) => [f.name, value(f), budgetText(f), verdict(f)]);
}

const machineLine = (m: Machine) =>
  `${m.cpu}, ${m.cores} cores, ${m.ramGiB} GiB RAM, Node ${m.node}, ${m.os}` +
  (m.loadAvg ? ` (load average ${m.loadAvg.join(' / ')} at start)` : '');

const BEGIN =
  '<!-- bench-results: raw results of the latest run of each section, read back by the next run -->';
const END = '<!-- /bench-results -->';

/** The raw results stored in a BENCHMARKS.md, or undefined when it has none. */
export function readStoredResults(markdown: string): StoredResults | undefined {
  const start = markdown.indexOf(BEGIN);
  const end = markdown.indexOf(END, start);
  if (start < 0 || end < 0) return undefined;
  const block = markdown.slice(start + BEGIN.length, end);
  const json = block.slice(block.indexOf('{'), block.lastIndexOf('}') + 1);
  const parsed = JSON.parse(json) as StoredResults;
  return parsed.format === 1 && parsed.sections ? parsed : undefined;
}

/**
 * The report. `findings` (markdown, written by the engineers: what a profile showed, what was
 * changed because of it, with the figures before and after) follows the comparison of the peers.
 */
export function renderMarkdown(stored: StoredResults, order: string[], findings?: string): string {
  const ids = [
    ...order.filter((id) => stored.sections[id]),
    ...Object.keys(stored.sections).filter((id) => !order.includes(id)),
  ];
  const last = stored.lastRun;
  const inLast = (id: string) => !!last?.sections.includes(id);
  const out: string[] = [
    '# Benchmarks',
    '',
    '<!-- Generated by scripts/bench/run.ts: do not edit by hand, run the bench. -->',
    '',
    'Performance is measured only by `npm run bench` (never by a timed test). Each section below says the exact',
    'command, the machine and the date of its own latest run; `--only` reruns some sections and keeps the others',
    '(with their older dates). A section that failed or crashed is shown as FAILED with its error: its older',
    'results are dropped, not shown as current. The raw results are at the end of this file.',
    '',
    '```sh',
    'npm run bench                                 # every section (about 20 minutes on 2 cores), rewrites this file',
    'npm run bench -- --only pipeline,bare-relay   # some sections; the others keep their last results',
    'npm run bench -- --quick                      # smoke run (small counts); writes nothing unless --out is given',
    '```',
    '',
    ...(last
      ? [
          `Latest run: ${shortDate(last.date)}, \`${last.command}\`${last.quick ? ' (quick smoke run)' : ''}: ` +
            `${last.sections.map((id) => `\`${id}\`${stored.sections[id] && failed(stored.sections[id]) ? ' (FAILED)' : ''}`).join(', ')}.` +
            (ids.some((id) => !inLast(id))
              ? ` Not rerun then, shown with the date of their own run: ${ids
                  .filter((id) => !inLast(id))
                  .map((id) => `\`${id}\` (${shortDate(stored.sections[id]!.date)})`)
                  .join(', ')}.`
              : ''),
          '',
        ]
      : []),
    '## Summary',
    '',
    mdTable(
      ['section', 'figure', 'value', 'budget', '', 'run'],
      ids.flatMap((id) => {
        const s = stored.sections[id]!;
        if (failed(s)) return [[id, 'FAILED', firstLine(s.error), '', 'FAILED', shortDate(s.date)]];
        return s.result.figures
          .filter((f) => f.budget || f.summary)
          .map((f) => [id, f.name, value(f), budgetText(f), verdict(f), shortDate(s.date)]);
      }),
    ),
    '',
    ...threeSystems(stored),
    ...(findings ? [findings.trim(), ''] : []),
  ];
  for (const id of ids) {
    const s = stored.sections[id]!;
    out.push(`## ${s.title} (\`${id}\`)${failed(s) ? ': FAILED' : ''}`, '');
    if (last && !inLast(id))
      out.push(
        `> Not rerun by the latest run (${shortDate(last.date)}): these results are from ${shortDate(s.date)}.`,
        '',
      );
    if (s.quick) out.push('> Quick smoke run (`--quick`): short steps, not representative figures.', '');
    out.push(
      `- Command: \`${s.command}\``,
      `- Machine: ${machineLine(s.machine)}`,
      `- Date: ${s.date} (section took ${s.durationS} s)`,
      '',
    );
    if (failed(s)) {
      out.push(
        `**FAILED**: the section did not finish, so it has no figures from this run${
          s.previousOk
            ? `; the results of its last successful run (${shortDate(s.previousOk.date)}, \`${s.previousOk.command}\`) were dropped`
            : ''
        }. Error:`,
        '',
        '```text',
        ...compactLines((s.error ?? 'unknown error').replace(/```/g, "'''").trim().split('\n')).slice(0, 60),
        '```',
        '',
      );
      continue;
    }
    out.push(mdTable(['figure', 'value', 'budget', ''], figureRows(s.result.figures)), '');
    for (const t of s.result.tables ?? []) out.push(`### ${t.title}`, '', mdTable(t.columns, t.rows), '');
    if (s.result.method?.length) out.push('### Method', '', ...s.result.method.map((m) => `- ${m}`), '');
    if (s.result.notes?.length)
      out.push('### Notes of this run', '', ...s.result.notes.map((m) => `- ${m}`), '');
  }
  out.push(
    '## Raw results',
    '',
    BEGIN,
    '<details><summary>JSON</summary>',
    '',
    '```json',
    JSON.stringify(stored, null, 1),
    '```',
    '',
    '</details>',
    END,
  );
  return `${out.join('\n').trimEnd()}\n`;
}

/** The gateway, Node-RED and the relay side by side, the comparative budgets and the plots. */
function threeSystems(stored: StoredResults): string[] {
  const c = comparison(stored);
  const present = c.sections.filter((id) => stored.sections[id]);
  if (!present.length) return [];
  const dates = present.map((id) => `\`${id}\` ${shortDate(stored.sections[id]!.date)}${failed(stored.sections[id]!) ? ' (FAILED)' : ''}`);
  const missing = c.sections.filter((id) => !stored.sections[id]);
  const sameRun = !missing.length && c.sections.every((id) => stored.lastRun?.sections.includes(id));
  return [
    '## Same load, three systems',
    '',
    'The gateway (normalise, journal with fsync, outbox, local bus), Node-RED 4 doing the same gas job in a flow (no journal) and the bare MQTT relay floor (no parsing, no storage), under the same device load. Run together (as `npm run bench` runs them), their sweeps take turns step by step, each step on a quiet machine, and Node-RED\'s overload runs once all three sweeps have ended. For Node-RED and the relay the "alarm" is a high-gas reading travelling the same path. RSS is that of the process doing the work, every process with glibc\'s malloc arenas limited to two as the gateway\'s launchers set them (`MALLOC_ARENA_MAX=2`): the gateway\'s includes its broker and the bench\'s load generator; Node-RED\'s and the relay\'s (under overload) exclude the brokers, which run in the bench process. The relay has no site file: its cold start is that of its process.',
    '',
    mdTable(c.columns, c.rows),
    '',
    `From: ${dates.join(', ')}${missing.length ? `; not run yet: ${missing.map((id) => `\`${id}\``).join(', ')}` : ''}.` +
      (sameRun ? '' : ' Not all from the latest run: ratios between runs on a shared machine are indicative only.') +
      (present.some((id) => stored.sections[id]!.quick) ? ' Some are quick smoke runs (`--quick`): not representative.' : ''),
    '',
    mdTable(['budget', 'value', 'budget', ''], figureRows(c.budgets)),
    '',
    ...benchPlots(stored).flatMap((p) => [`![${p.alt}](${p.file})`, '']),
  ];
}

export function printSection(s: StoredSection, write: (s: string) => void): void {
  write(`\n== ${s.title} (${s.id}) — ${s.date}${s.quick ? ' — QUICK' : ''}\n`);
  if (failed(s)) {
    write(`FAILED: ${s.error ?? 'unknown error'}\n`);
    return;
  }
  write(`${textTable(['figure', 'value', 'budget', ''], figureRows(s.result.figures))}\n`);
  for (const t of s.result.tables ?? []) write(`\n${t.title}\n${textTable(t.columns, t.rows)}\n`);
  for (const n of s.result.notes ?? []) write(`note: ${n}\n`);
}

export type { Table };
