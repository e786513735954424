/**
 * Test harness: runs the real `gateway` command as a child process from the sources and
 * tells when it is ready. Only processes started here are stopped, by their pid.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Writes a site config (an object) as YAML and returns its path. */
export function writeSiteConfig(dir: string, config: Record<string, unknown>): string {
  const file = join(dir, 'site.yaml');
  writeFileSync(file, stringify(config));
  return file;
}

export interface GatewayProcess {
  child: ChildProcess;
  /** Everything the process printed so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (or the signal) when the process ends. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves when stdout matches `pattern`, with the match. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
}

export function spawnGateway(args: string[]): GatewayProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'gateway/cli.ts', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const waiters: (() => void)[] = [];
  child.stdout!.on('data', (d) => {
    out += d;
    for (const w of waiters.splice(0)) w();
  });
  child.stderr!.on('data', (d) => {
    err += d;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      for (const w of waiters.splice(0)) w();
      resolve({ code, signal });
    }),
  );
  const waitFor = (pattern: RegExp, timeoutMs = 20_000) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no ${pattern} within ${timeoutMs} ms; stderr:\n${err.slice(-2000)}`)),
        timeoutMs,
      );
      const check = () => {
        const m = out.match(pattern);
        if (m) {
          clearTimeout(timer);
          resolve(m);
        } else if (child.exitCode !== null || child.signalCode !== null) {
          clearTimeout(timer);
          reject(
            new Error(
              `gateway exited (${child.exitCode ?? child.signalCode}) before ${pattern}; stderr:\n${err.slice(-2000)}`,
            ),
          );
        } else waiters.push(check);
      };
      check();
    });
  return { child, stdout: () => out, stderr: () => err, exited, waitFor };
}

/** Parses the line `gateway start` prints when ready. */
export async function gatewayReady(gw: GatewayProcess): Promise<{ opsUrl: string; brokerUrl: string }> {
  const m = await gw.waitFor(/gateway ready: ops (\S+)\/healthz\s+local broker tcp:\/\/(\S+)/);
  return { opsUrl: m[1]!, brokerUrl: `mqtt://${m[2]}` };
}
