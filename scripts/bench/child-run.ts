/**
 * Runs one bench section in its own Node process and turns every way it can end into either a
 * result or an error that says what happened: an exception the section caught and reported, an
 * uncaught one (e.g. `RangeError: Maximum call stack size exceeded` inside a library's emitter),
 * a non-zero exit, a signal (killed by the OOM killer, SIGKILL, SIGSEGV). The tail of the child's
 * stderr (forwarded to ours as it comes) goes into the error, so the report can show it.
 */
import { fork } from 'node:child_process';
import type { SectionResult } from './types.js';

/** What a section process sends its parent over IPC: one of the two. */
export interface SectionMessage {
  result?: SectionResult;
  error?: string;
}

const TAIL_BYTES = 4_000;

export interface SectionProcessOptions {
  execArgv?: string[];
  /** The child's environment (default: this process's). */
  env?: NodeJS.ProcessEnv;
  /** Called with every other message the child sends (e.g. for its turn); `reply` answers it. */
  onMessage?: (m: unknown, reply: (answer: unknown) => void) => void;
  /** Where the child's stderr is forwarded as it comes (default: this process's stderr). */
  forward?: (chunk: Buffer) => void;
}

/** Forks `modulePath` with `args`; resolves with the result it sent, rejects with what went wrong. */
export function runSectionProcess(
  modulePath: string,
  args: string[],
  o: SectionProcessOptions = {},
): Promise<SectionResult> {
  return new Promise((resolve, reject) => {
    const proc = fork(modulePath, args, {
      execArgv: o.execArgv ?? [],
      env: o.env ?? process.env,
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    });
    const forward = o.forward ?? ((c: Buffer) => process.stderr.write(c));
    let tail = '';
    proc.stderr?.on('data', (c: Buffer) => {
      forward(c);
      tail = (tail + c.toString('utf8')).slice(-TAIL_BYTES);
    });
    let result: SectionResult | undefined;
    let error: string | undefined;
    proc.on('message', (m: SectionMessage) => {
      if (!m.result && !m.error) return o.onMessage?.(m, (answer) => proc.connected && proc.send(answer as object));
      result = m.result ?? result;
      error = m.error ?? error;
    });
    proc.once('error', reject);
    // 'close' (not 'exit'): stderr has been read to its end.
    proc.once('close', (code: number | null, signal: NodeJS.Signals | null) => {
      const clean = code === 0 && !signal;
      if (result && clean && !error) return resolve(result);
      reject(new Error(describeFailure({ code, signal, error, stderrTail: tail, hadResult: !!result })));
    });
  });
}

/** One readable paragraph: how the section process ended, its own error, the end of its stderr. */
export function describeFailure(f: {
  code: number | null;
  signal: NodeJS.Signals | string | null;
  error?: string;
  stderrTail?: string;
  hadResult?: boolean;
}): string {
  const how = f.signal
    ? `section process killed by signal ${f.signal}`
    : `section process exited with code ${f.code ?? 'unknown'}`;
  const parts = [f.error ? `${f.error.trim()}\n(${how})` : `${how}${f.hadResult ? ' after sending a result (discarded)' : ', no result'}`];
  const tail = (f.stderrTail ?? '').trim();
  // The child's own error usually repeats in its stderr; show the stderr when it adds something.
  if (tail && !(f.error && tail.includes(f.error.trim().split('\n')[0]!))) {
    const lines = tail.split('\n').slice(-30);
    parts.push(`last lines of its stderr:\n${lines.join('\n')}`);
  }
  return parts.join('\n');
}

/**
 * The child side: reports the section's result or error to the parent, and turns an uncaught
 * exception (thrown in a callback the section cannot catch) into a reported error and exit 1.
 */
export function reportUncaught(): void {
  process.once('uncaughtException', (err) => {
    const text = `uncaught exception: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`;
    process.stderr.write(`${text}\n`);
    const die = () => process.exit(1);
    setTimeout(die, 500).unref();
    if (process.send && process.connected) process.send({ error: text } satisfies SectionMessage, die);
    else die();
  });
}
