/**
 * The turns of the compared sections: one section at a time, in order, step by step, across
 * their processes; and where the group runs among the other sections. Nothing here is timed.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runSectionProcess } from './child-run.js';
import { runPlan, takingTurnsIn, TurnTable } from './turns.js';
import type { Section } from './types.js';

const settled = () => Promise.resolve();

describe('turn table', () => {
  it('grants one turn at a time, in the listed order once all have asked, skipping sections that do not wait or have ended', async () => {
    const grants: string[] = [];
    const table = new TurnTable(['a', 'b', 'c'], undefined, settled);
    const wait = (id: string) => table.wait(id, () => grants.push(id));
    const tick = () => new Promise((r) => setImmediate(r));
    wait('b');
    wait('c');
    await tick();
    expect(grants).toEqual([]); // a's process is not up yet
    wait('a');
    await tick();
    expect(grants).toEqual(['a']); // the first listed; the others wait
    wait('a'); // a passes its turn: b, then c, before a again
    await tick();
    wait('b');
    await tick();
    table.done('c'); // c ends during its turn
    await tick();
    wait('a');
    await tick();
    expect(grants).toEqual(['a', 'b', 'c', 'a', 'b']);
    table.done('a'); // waiting, ends: b (holding) has no one to pass to
    table.done('b');
    await tick();
    expect(grants).toHaveLength(5);
  });

  it('gives a section whose sweep has ended its turn only once no section still sweeps', async () => {
    const grants: string[] = [];
    const table = new TurnTable(['a', 'b', 'c'], undefined, settled);
    const wait = (id: string, last = false) => table.wait(id, () => grants.push(id), last);
    const tick = () => new Promise((r) => setImmediate(r));
    for (const id of ['a', 'b', 'c']) wait(id);
    await tick();
    wait('a', true); // a's sweep ended: b and c still sweep
    await tick();
    wait('b');
    await tick();
    wait('c', true);
    await tick();
    wait('b'); // b alone still sweeps: its turn again
    await tick();
    wait('b', true); // every sweep has ended: in order again, after b
    await tick();
    table.done('c');
    await tick();
    expect(grants).toEqual(['a', 'b', 'c', 'b', 'b', 'c', 'a']);
  });
});

describe('sections taking turns', () => {
  it('run their steps alternately across their processes, and what follows their sweeps once all have ended', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-turns-'));
    const turns = new URL('./turns.ts', import.meta.url).pathname;
    // A section process as run.ts runs it: its first turn, then its steps with the turn passed
    // between them, then what it does once every sweep has ended.
    const file = join(dir, 'section.mts');
    writeFileSync(
      file,
      `import { afterAllSweeps, betweenSteps, nextTurn } from ${JSON.stringify(turns)};
await nextTurn();
for (let step = 0; step < Number(process.argv[3]); step++) {
  if (step) await betweenSteps(10_000);
  process.send!({ step: process.argv[2] + step });
}
await afterAllSweeps();
process.send!({ step: process.argv[2] + ' after' });
process.send!({ result: { figures: [] } }, () => process.exit(0));
`,
    );
    const steps: string[] = [];
    const table = new TurnTable(['a', 'b'], undefined, settled);
    const run = (id: string, count: number) => {
      const turns = takingTurnsIn(table, id);
      return runSectionProcess(file, [id, String(count)], {
        execArgv: ['--import', 'tsx'],
        env: turns.env,
        forward: () => {},
        onMessage: (m, reply) => {
          const step = (m as { step?: string }).step;
          if (step) steps.push(step);
          turns.onMessage!(m, reply);
        },
      }).finally(() => table.done(id));
    };
    await Promise.all([run('a', 2), run('b', 4)]);
    expect(steps).toEqual(['a0', 'b0', 'a1', 'b1', 'b2', 'b3', 'a after', 'b after']);
  });
});

describe('run plan', () => {
  const s = (id: string, takesTurns = false): Section => ({ id, title: id, takesTurns, run: async () => ({}) });
  const ids = (plan: (Section | Section[])[]) => plan.map((p) => (Array.isArray(p) ? p.map((x) => x.id) : p.id));
  const all = [s('pipeline', true), s('relay', true), s('alarms'), s('overload'), s('node-red', true), s('cold-start')];

  it('runs the sections that take turns together, at the place of the last of them', () => {
    expect(ids(runPlan(all, false))).toEqual(['alarms', 'overload', ['pipeline', 'relay', 'node-red'], 'cold-start']);
  });

  it('runs them as listed when only one is selected, or in process', () => {
    expect(ids(runPlan([all[0]!, all[3]!], false))).toEqual(['pipeline', 'overload']);
    expect(ids(runPlan(all, true))).toEqual(all.map((x) => x.id));
  });
});
