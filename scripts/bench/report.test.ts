/**
 * The bench's bookkeeping, not its figures: a section that fails replaces its older result (shown
 * as FAILED with date, command and error), sections not rerun keep their results with their own
 * date, and a crashed section process is described by how it died. Nothing here is timed.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeFailure, runSectionProcess } from './child-run.js';
import { compactLines, mergeRun, readStoredResults, renderMarkdown, type StoredResults, type StoredSection } from './report.js';

const machine = { cpu: 'test cpu', cores: 2, ramGiB: 4, node: 'v20', os: 'linux', loadAvg: [0, 0, 0] };

function section(id: string, date: string, over: Partial<StoredSection> = {}): StoredSection {
  return {
    id,
    title: `Section ${id}`,
    command: 'npm run bench',
    date,
    durationS: 1,
    quick: false,
    machine,
    status: 'ok',
    result: {
      figures: [
        { id: 'rate', name: `${id} rate`, value: 1234, unit: 'events/s', budget: { op: '>=', value: 1000, source: 't' } },
      ],
    },
    ...over,
  };
}

describe('bench results file', () => {
  const old: StoredResults = {
    format: 1,
    sections: {
      pipeline: section('pipeline', '2026-01-01T10:00:00.000Z'),
      relay: section('relay', '2026-01-02T10:00:00.000Z'),
    },
  };

  it('records a failed section as FAILED with its date, command and error, and drops its older result', () => {
    const failedRun = section('pipeline', '2026-02-01T09:00:00.000Z', {
      command: 'npm run bench -- --only pipeline',
      status: 'failed',
      error: 'section process exited with code 1, no result\nRangeError: Maximum call stack size exceeded',
      result: { figures: [] },
    });
    const merged = mergeRun(old, [failedRun], {
      date: '2026-02-01T09:00:00.000Z',
      command: 'npm run bench -- --only pipeline',
      quick: false,
    });
    expect(merged.sections.pipeline!.status).toBe('failed');
    expect(merged.sections.pipeline!.result.figures).toEqual([]);
    expect(merged.sections.pipeline!.previousOk).toEqual({ date: '2026-01-01T10:00:00.000Z', command: 'npm run bench' });

    const md = renderMarkdown(merged, ['pipeline', 'relay']);
    expect(md).toContain('## Section pipeline (`pipeline`): FAILED');
    expect(md).toContain('- Date: 2026-02-01T09:00:00.000Z');
    expect(md).toContain('- Command: `npm run bench -- --only pipeline`');
    expect(md).toContain('RangeError: Maximum call stack size exceeded');
    expect(md).toMatch(/\| pipeline \| FAILED \| section process exited with code 1, no result \|.*FAILED \| 2026-02-01 09:00 UTC \|/);
    // The old figure of the failed section is gone from the page (it stays only as a date).
    expect(md).not.toContain('pipeline rate');
    expect(md).toContain('2026-01-01 10:00 UTC');

    // The section not rerun keeps its result, with its own date, and says it was not rerun.
    expect(md).toContain('| relay | relay rate | 1,234 events/s | >= 1,000 events/s | met | 2026-01-02 10:00 UTC |');
    expect(md).toContain('> Not rerun by the latest run (2026-02-01 09:00 UTC): these results are from 2026-01-02 10:00 UTC.');
    expect(md).toMatch(/Latest run: 2026-02-01 09:00 UTC, `npm run bench -- --only pipeline`: `pipeline` \(FAILED\)\./);

    // The file reads back, and a later success replaces the failure.
    const back = readStoredResults(md)!;
    expect(back.sections.pipeline!.status).toBe('failed');
    const fixed = mergeRun(back, [section('pipeline', '2026-02-02T09:00:00.000Z')], {
      date: '2026-02-02T09:00:00.000Z',
      command: 'npm run bench',
      quick: false,
    });
    const md2 = renderMarkdown(fixed, ['pipeline', 'relay']);
    expect(md2).not.toMatch(/: FAILED|\| FAILED \|/);
    expect(md2).toContain('| pipeline | pipeline rate | 1,234 events/s | >= 1,000 events/s | met | 2026-02-02 09:00 UTC |');
  });

  it('keeps the date of the last success across repeated failures', () => {
    const fail = (date: string) =>
      section('pipeline', date, { status: 'failed', error: 'boom', result: { figures: [] } });
    const run = (date: string) => ({ date, command: 'npm run bench', quick: false });
    const once = mergeRun(old, [fail('2026-03-01T00:00:00.000Z')], run('2026-03-01T00:00:00.000Z'));
    const twice = mergeRun(once, [fail('2026-03-02T00:00:00.000Z')], run('2026-03-02T00:00:00.000Z'));
    expect(twice.sections.pipeline!.previousOk?.date).toBe('2026-01-01T10:00:00.000Z');
    expect(twice.sections.pipeline!.date).toBe('2026-03-02T00:00:00.000Z');
  });

  it('collapses the repeated frames of a stack overflow', () => {
    expect(compactLines(['RangeError', 'at f', 'at f', 'at f', 'at f', 'at g', 'at g', 'end'])).toEqual([
      'RangeError',
      'at f',
      '    ... (the line above 3 more times)',
      'at g',
      'at g',
      'end',
    ]);
  });

  it('reads files written before sections had a status as successful runs', () => {
    const legacy = section('pipeline', '2026-01-01T10:00:00.000Z');
    delete legacy.status;
    const md = renderMarkdown({ format: 1, sections: { pipeline: legacy } }, ['pipeline']);
    expect(md).not.toMatch(/: FAILED|\| FAILED \|/);
    expect(md).toContain('| pipeline | pipeline rate | 1,234 events/s |');
  });
});

describe('section process', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-child-'));
  const script = (name: string, body: string) => {
    const file = join(dir, name);
    writeFileSync(file, body);
    return file;
  };
  const quiet = () => {};

  it('resolves with the result the process sent', async () => {
    const file = script('ok.mjs', "process.send({ result: { figures: [{ id: 'x', name: 'x', value: 1 }] } }, () => process.exit(0));");
    await expect(runSectionProcess(file, [], { forward: quiet })).resolves.toEqual({
      figures: [{ id: 'x', name: 'x', value: 1 }],
    });
  });

  it('fails on an uncaught RangeError thrown in a callback, with the error text', async () => {
    const file = script(
      'overflow.mjs',
      'const f = () => f() + 1;\nsetImmediate(() => f());\n',
    );
    await expect(runSectionProcess(file, [], { forward: quiet })).rejects.toThrow(
      /exited with code 1[\s\S]*RangeError: Maximum call stack size exceeded/,
    );
  });

  it('fails when the process is killed by a signal, even after sending a result', async () => {
    const file = script(
      'killed.mjs',
      "process.send({ result: { figures: [] } }, () => process.kill(process.pid, 'SIGKILL'));",
    );
    await expect(runSectionProcess(file, [], { forward: quiet })).rejects.toThrow(
      /killed by signal SIGKILL after sending a result \(discarded\)/,
    );
  });

  it('describes a reported error with how the process ended', () => {
    expect(describeFailure({ code: 0, signal: null, error: 'Error: no broker' })).toBe(
      'Error: no broker\n(section process exited with code 0)',
    );
  });
});
