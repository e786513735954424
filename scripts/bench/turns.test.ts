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
});

describe('sections taking turns', () => {
  it('run their steps alternately across their processes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-turns-'));
    const turns = new URL('./turns.ts', import.meta.url).pathname;
    // A section process as run.ts runs it: its first turn, then three steps with the turn passed between them.
    const file = join(dir, 'section.mts');
    writeFileSync(
      file,
      `import { betweenSteps, nextTurn } from ${JSON.stringify(turns)};
await nextTurn();
for (let step = 0; step < 3; step++) {
  process.send!({ step: process.argv[2] + step });
  await betweenSteps(10_000);
}
process.send!({ result: { figures: [] } }, () => process.exit(0));
`,
    );
    const steps: string[] = [];
    const table = new TurnTable(['a', 'b'], undefined, settled);
    const run = (id: string) => {
      const turns = takingTurnsIn(table, id);
      return runSectionProcess(file, [id], {
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
    await Promise.all([run('a'), run('b')]);
    expect(steps).toEqual(['a0', 'b0', 'a1', 'b1', 'a2', 'b2']);
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
