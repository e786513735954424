/**
 * A connected pair of pseudo-terminals from `socat -d -d pty,raw,echo=0 pty,raw,echo=0`, i.e. a
 * virtual null-modem cable for serial simulators (Modbus RTU, GSM modem). socat is killed by
 * its pid on close.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';

export interface PtyPair {
  /** One end, e.g. /dev/pts/3 (the device side in tests). */
  a: string;
  /** The other end (the master side). */
  b: string;
  close(): Promise<void>;
}

export function openPtyPair(timeoutMs = 5000): Promise<PtyPair> {
  const proc = spawn('socat', ['-d', '-d', 'pty,raw,echo=0', 'pty,raw,echo=0'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const close = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null || !proc.pid) return;
    const exited = once(proc, 'exit');
    process.kill(proc.pid, 'SIGTERM');
    await exited;
  };
  return new Promise((resolve, reject) => {
    let text = '';
    let settled = false;
    const fail = (why: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void close();
      reject(new Error(`socat pty pair: ${why}; stderr: ${text.trim()}`));
    };
    const timer = setTimeout(() => fail(`not ready within ${timeoutMs} ms`), timeoutMs);
    proc.once('error', (err) => fail(err.message));
    proc.once('exit', (code) => fail(`exited with ${code}`));
    proc.stderr.setEncoding('utf8');
    proc.stderr.on('data', (chunk: string) => {
      text += chunk;
      // "... N PTY is /dev/pts/3" twice, then "... N starting data transfer loop ..."
      const paths = [...text.matchAll(/PTY is (\S+)/g)].map((m) => m[1] as string);
      if (!settled && paths.length === 2 && text.includes('starting data transfer loop')) {
        settled = true;
        clearTimeout(timer);
        resolve({ a: paths[0] as string, b: paths[1] as string, close });
      }
    });
  });
}
