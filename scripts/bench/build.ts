/**
 * The compiled trees the bench runs: `npm run build` (what an installation runs: dist/, with the
 * console bundle) and, for the sections that run compiled, the bench's own scripts compiled beside
 * it into dist/scripts/bench (so that they import the very files of dist/; an installation leaves
 * them out).
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';

const HERE = import.meta.dirname;
/** The repository, also when this file runs compiled from dist/scripts/bench. */
export const REPO = resolve(HERE, HERE.endsWith(join('dist', 'scripts', 'bench')) ? '../../..' : '../..');
/** Where a bench script of this folder is, compiled. */
export const COMPILED_BENCH = join(REPO, 'dist/scripts/bench');

function run(what: string, cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { cwd: REPO, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${what} failed (exit ${r.status ?? r.signal}):\n${r.stdout}${r.stderr}`);
}

const npmBuild = () => run('`npm run build`', 'npm', ['run', 'build', '--silent']);

/** `npm run build`, from the sources as they are now. */
export function buildProduct(): void {
  npmBuild();
  flushToDisk();
}

/**
 * Writes what was just built to the disk before anything is measured. Left to the kernel's
 * write-back, those files were written during the first section, and the filesystem committed
 * them together with the journal's WAL fsyncs, which then took up to hundreds of ms: the alarms
 * of the first rate step waited for the build, not for the gateway.
 */
function flushToDisk(): void {
  run('`sync` (the build flushed to the disk)', 'sync', []);
}

/** `npm run build`, then the bench's scripts compiled into dist/scripts/bench. */
export function buildCompiledBench(): void {
  npmBuild();
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  run('compiling the bench scripts (scripts/bench/tsconfig.build.json)', process.execPath, [tsc, '-p', join(REPO, 'scripts/bench/tsconfig.build.json')]);
  flushToDisk();
}
