/**
 * `npm run fuzz`: runs every fuzz target registered in fuzz-targets.ts with many generated
 * inputs, each target in a Node process of its own (a crash or a hang of one is recorded as its
 * failure and the others still run), and writes docs/reliability/fuzz-<id>.json per target.
 *
 *   npm run fuzz [-- --runs 20000] [--seed 12345] [--only broker,gas-rtu] [--timeout-s 1800]
 *
 * The seed is random unless given and is recorded, so a failing run can be replayed exactly.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FuzzOutcome } from '../../gateway/testing/fuzz-target.js';
import { FUZZ_TARGETS } from './fuzz-targets.js';
import { commandLine, parseOptions, REPO, recordRun, runCommand } from './results.js';

const SELF = join(REPO, 'scripts/reliability/fuzz.ts');
const log = (line: string) => process.stdout.write(`${line}\n`);

async function child(id: string, runs: number, seed: number, out: string): Promise<void> {
  const target = FUZZ_TARGETS.find((t) => t.id === id);
  if (!target) throw new Error(`no fuzz target "${id}"`);
  const rss0 = process.memoryUsage().rss;
  const outcome = await target.run({ numRuns: runs, seed, log: (l) => process.stderr.write(`[${id}] ${l}\n`) });
  const rssMB = Math.round(((process.memoryUsage().rss - rss0) / 1024 ** 2) * 10) / 10;
  writeFileSync(out, JSON.stringify({ ...outcome, runnerRssGrowthMB: rssMB }));
}

function runChild(
  id: string,
  runs: number,
  seed: number,
  timeoutS: number,
): Promise<FuzzOutcome & { runnerRssGrowthMB: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'fuzz-'));
  const out = join(dir, 'outcome.json');
  const proc = spawn(
    process.execPath,
    ['--import', 'tsx', SELF, '--child', id, '--runs', String(runs), '--seed', String(seed), '--out', out],
    { cwd: REPO, stdio: ['ignore', 'inherit', 'pipe'] },
  );
  let stderr = '';
  proc.stderr!.on('data', (d) => {
    stderr = (stderr + String(d)).slice(-8000);
    process.stderr.write(d);
  });
  return new Promise((resolve, reject) => {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      if (proc.pid) process.kill(proc.pid, 'SIGKILL');
    }, timeoutS * 1000);
    proc.once('exit', (code, signal) => {
      clearTimeout(timer);
      try {
        if (timedOut) throw new Error(`hung: no result within ${timeoutS} s (killed)`);
        if (code !== 0)
          throw new Error(`the fuzz process died (${signal ?? `exit ${code}`}); last output:\n${stderr.slice(-2000)}`);
        resolve(JSON.parse(readFileSync(out, 'utf8')) as FuzzOutcome & { runnerRssGrowthMB: number });
      } catch (err) {
        reject(err as Error);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const o = parseOptions(argv, {
    runs: 'number',
    seed: 'number',
    only: 'string',
    'timeout-s': 'number',
    child: 'string',
    out: 'string',
  });
  const runs = Math.max(1, Math.floor(Number(o.runs ?? 20_000)));
  const seed = o.seed !== undefined ? Math.floor(Number(o.seed)) : Math.floor(Math.random() * 2 ** 31);
  if (o.child) {
    await child(String(o.child), runs, seed, String(o.out));
    // A target that left a handle open must not keep its process (and the whole run) alive.
    process.exit(0);
  }
  const only = o.only ? String(o.only).split(',').filter(Boolean) : undefined;
  const unknown = only?.filter((id) => !FUZZ_TARGETS.some((t) => t.id === id)) ?? [];
  if (unknown.length)
    throw new Error(
      `no fuzz target ${unknown.join(', ')}; registered: ${FUZZ_TARGETS.map((t) => t.id).join(', ') || 'none'}`,
    );
  const targets = FUZZ_TARGETS.filter((t) => !only || only.includes(t.id));
  if (!targets.length) {
    log('fuzz: no fuzz targets are registered in scripts/reliability/fuzz-targets.ts: nothing to run');
    return 0;
  }
  const command = commandLine('fuzz', 'scripts/reliability/fuzz.ts', argv);
  const timeoutS = Number(o['timeout-s'] ?? 1800);
  log(`fuzz: ${targets.map((t) => t.id).join(', ')}; ${runs} runs each, seed ${seed}`);
  let failed = 0;
  for (const t of targets) {
    const r = await recordRun(
      { id: `fuzz-${t.id}`, title: `Fuzz: ${t.title}`, command },
      async () => {
        const out = await runChild(t.id, runs, seed, timeoutS);
        return {
          figures: {
            seed,
            'inputs tried': out.inputs,
            refused: out.refused,
            failures: out.failures,
            ...(out.figures ?? {}),
            'runner RSS growth MB': out.runnerRssGrowthMB,
          },
          notes: [`replay: npm run fuzz -- --only ${t.id} --runs ${runs} --seed ${seed}`],
          failures: out.failures ? [`${out.failures} failure(s) (crash, hang or broken invariant)`] : [],
        };
      },
      { log },
    );
    if (r.status !== 'passed') failed += 1;
    log(`  ${t.id}: ${JSON.stringify(r.figures)}`);
  }
  return failed ? 1 : 0;
}

runCommand('fuzz', main);
