/**
 * Result files of the long reliability runs: one JSON file per run in docs/reliability/<id>.json,
 * rendered into docs/RELIABILITY.md by `npm run reliability`. A run that fails writes FAILED with
 * the error: an older passing result is never kept silently.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Machine, machine } from '../bench/report.js';

export const REPO = fileURLToPath(new URL('../..', import.meta.url));
export const RESULTS_DIR = resolve(REPO, 'docs/reliability');

export type Figures = Record<string, number | string | boolean>;

export interface ResultFile {
  id: string;
  title: string;
  /** The exact command that produced it, e.g. `npm run chaos -- --kills 50`. */
  command: string;
  /** ISO time the run started. */
  date: string;
  machine: Machine;
  durationS: number;
  /** The code that ran: commit, and whether the checkout had uncommitted changes. */
  commit?: string;
  status: 'passed' | 'FAILED';
  figures: Figures;
  /** What the figures mean, what was not checked, the error of a failed run. */
  notes?: string[];
  /** Only on FAILED: the error. */
  error?: string;
  /** Sampled series of a long run (e.g. the soak), downsampled: one row per sample. */
  series?: { columns: string[]; rows: number[][] };
}

/** `RELIABILITY_COMMIT` if set, else the checkout's commit (noting uncommitted changes). */
export function codeVersion(): string | undefined {
  if (process.env.RELIABILITY_COMMIT) return process.env.RELIABILITY_COMMIT;
  try {
    const git = (...args: string[]) =>
      execFileSync('git', args, { cwd: REPO, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const sha = git('rev-parse', '--short', 'HEAD');
    const dirty = git('status', '--porcelain', '--untracked-files=no') !== '';
    return dirty ? `${sha} with uncommitted changes in the checkout` : sha;
  } catch {
    return undefined;
  }
}

/** The command line as typed: `npm run <script> -- <args>` under npm, else the tsx invocation. */
export function commandLine(script: string, file: string, argv: string[]): string {
  const args = argv.join(' ');
  return process.env.npm_lifecycle_event === script
    ? `npm run ${script}${args ? ` -- ${args}` : ''}`
    : `npx tsx ${file}${args ? ` ${args}` : ''}`;
}

export function writeResult(r: ResultFile, dir = RESULTS_DIR): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${r.id}.json`);
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(r, null, 2)}\n`);
  renameSync(tmp, file);
  return file;
}

export function readResults(dir = RESULTS_DIR): ResultFile[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.json'));
  } catch {
    return [];
  }
  return names.sort().map((n) => JSON.parse(readFileSync(join(dir, n), 'utf8')) as ResultFile);
}

export interface RunOutcome {
  figures: Figures;
  notes?: string[];
  /** Broken invariants found by the run (loss, gaps, crash): any makes the run FAILED. */
  failures?: string[];
  series?: ResultFile['series'];
}

/**
 * Runs `fn` and records its result file whatever happens: `passed` when it returns without
 * failures, `FAILED` (with the error or the failures) otherwise. Returns the written result.
 */
export async function recordRun(
  meta: { id: string; title: string; command: string },
  fn: () => Promise<RunOutcome>,
  o: { dir?: string; log?: (line: string) => void } = {},
): Promise<ResultFile> {
  const started = Date.now();
  const date = new Date(started).toISOString();
  const m = machine();
  const commit = codeVersion();
  let result: ResultFile;
  try {
    const out = await fn();
    const failed = out.failures ?? [];
    result = {
      ...meta,
      date,
      machine: m,
      durationS: Math.round((Date.now() - started) / 100) / 10,
      ...(commit ? { commit } : {}),
      status: failed.length ? 'FAILED' : 'passed',
      figures: out.figures,
      ...(out.notes?.length || failed.length ? { notes: [...failed, ...(out.notes ?? [])] } : {}),
      ...(failed.length ? { error: failed.join('; ') } : {}),
      ...(out.series ? { series: out.series } : {}),
    };
  } catch (err) {
    const error = err instanceof Error ? (err.stack ?? err.message) : String(err);
    result = {
      ...meta,
      date,
      machine: m,
      durationS: Math.round((Date.now() - started) / 100) / 10,
      ...(commit ? { commit } : {}),
      status: 'FAILED',
      figures: {},
      notes: ['the run stopped with an error before it could report its figures'],
      error,
    };
  }
  const file = writeResult(result, o.dir);
  o.log?.(`${result.status === 'passed' ? 'passed' : 'FAILED'}: ${meta.id} -> ${file}`);
  return result;
}

/** `--name value` and `--flag` options; unknown names are an error (listed with the known ones). */
export function parseOptions(
  argv: string[],
  known: Record<string, 'string' | 'number' | 'boolean'>,
): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const m = /^--([a-z][a-z-]*)(?:=(.*))?$/.exec(a);
    const kind = m ? known[m[1]!] : undefined;
    if (!m || !kind)
      throw new Error(
        `unknown option "${a}"; known: ${Object.keys(known)
          .map((k) => `--${k}`)
          .join(' ')}`,
      );
    const name = m[1]!;
    if (kind === 'boolean') {
      out[name] = true;
      continue;
    }
    const raw = m[2] ?? argv[++i];
    if (raw === undefined) throw new Error(`--${name} needs a value`);
    if (kind === 'number') {
      const n = Number(raw);
      if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a non-negative number, got "${raw}"`);
      out[name] = n;
    } else out[name] = raw;
  }
  return out;
}

/** Runs a command's `main` and turns its outcome into the process exit code (1 and a line on failure). */
export function runCommand(name: string, main: () => Promise<number>): void {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`${name}: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
