/**
 * A connected pair of pseudo-terminals from `socat -d -d pty,raw,echo=0 pty,raw,echo=0`, i.e. a
 * virtual null-modem cable for serial simulators (Modbus RTU, GSM modem). socat is killed by
 * its pid on close.
 *
 * With `links`, socat also creates symbolic links to the two ends (`link=`) and removes them when
 * it exits: the device path stays the same across a close and a new pair, like a USB serial adapter
 * under /dev/serial/by-id that is unplugged and plugged in again.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';

export interface PtyPair {
  /** One end, e.g. /dev/pts/3 (the device side in tests), or its link path when links were asked for. */
  a: string;
  /** The other end (the master side), or its link path. */
  b: string;
  /** Process id of socat (killing it makes both ends vanish). */
  pid: number;
  close(): Promise<void>;
}

export interface PtyPairOptions {
  /** Give up when socat is not ready within this time; default 5000 ms. */
  timeoutMs?: number;
  /** Absolute paths of symbolic links socat creates to the ends (and removes on exit). */
  links?: { a: string; b: string };
}

export function openPtyPair(options: number | PtyPairOptions = {}): Promise<PtyPair> {
  const o = typeof options === 'number' ? { timeoutMs: options } : options;
  const timeoutMs = o.timeoutMs ?? 5000;
  const end = (link?: string) => (link ? `pty,raw,echo=0,link=${link}` : 'pty,raw,echo=0');
  const proc = spawn('socat', ['-d', '-d', end(o.links?.a), end(o.links?.b)], {
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
        resolve({
          a: o.links?.a ?? (paths[0] as string),
          b: o.links?.b ?? (paths[1] as string),
          pid: proc.pid as number,
          close,
        });
      }
    });
  });
}
