/**
 * Request/reply over a forked child's IPC channel (advanced serialisation, so typed arrays
 * cross as they are), clock-offset calibration, and the child side of the protocol.
 * Children are TypeScript run through tsx; they listen on nothing.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import { REPO } from './build.js';
import { now } from './stats.js';

type Message = { op: string; rid?: number } & Record<string, unknown>;

export class Child {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (m: Message) => void; reject: (e: Error) => void }>();
  private exited = false;
  private exitHow = '';
  readonly exit: Promise<number | null>;

  private constructor(readonly proc: ChildProcess) {
    proc.on('message', (m: Message) => {
      if (m.rid === undefined) return;
      const w = this.waiting.get(m.rid);
      this.waiting.delete(m.rid);
      if (m.op === 'error') w?.reject(new Error(String(m.message)));
      else w?.resolve(m);
    });
    this.exit = new Promise((resolve) =>
      proc.once('exit', (code, signal) => {
        this.exited = true;
        this.exitHow = signal ? `was killed by ${signal}` : `exited with code ${code}`;
        for (const w of this.waiting.values()) w.reject(new Error(`bench child ${proc.pid} ${this.exitHow}`));
        this.waiting.clear();
        resolve(code);
      }),
    );
  }

  /**
   * Forks `name` (a .ts module of scripts/bench: a helper process of the bench, not measured) under
   * tsx and waits for its `ready`. From the sources also when the section runs compiled.
   */
  static async start(name: string, args: string[]): Promise<Child> {
    const proc = fork(join(REPO, 'scripts/bench', name), args, {
      execArgv: ['--import', 'tsx'],
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const child = new Child(proc);
    await child.call({ op: 'ready' });
    return child;
  }

  call<T extends Record<string, unknown> = Record<string, unknown>>(
    msg: Message,
    timeoutMs = 120_000,
  ): Promise<T> {
    if (this.exited) return Promise.reject(new Error(`bench child ${this.proc.pid} ${this.exitHow}`));
    const rid = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(rid);
        reject(new Error(`bench child: no answer to ${msg.op} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(rid, {
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m as unknown as T);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.proc.send({ ...msg, rid });
    });
  }

  /**
   * Offset of the child's clock relative to ours (child = ours + offset), from the ping with
   * the shortest round trip: the error is at most half that round trip.
   */
  async clockOffset(samples = 40): Promise<{ offset: number; rtt: number }> {
    let best = { offset: 0, rtt: Number.POSITIVE_INFINITY };
    for (let i = 0; i < samples; i++) {
      const t0 = now();
      const { c } = await this.call<{ c: number }>({ op: 'clock' });
      const t1 = now();
      if (t1 - t0 < best.rtt) best = { offset: c - (t0 + t1) / 2, rtt: t1 - t0 };
    }
    return best;
  }

  /** Asks the child to exit, then makes sure it did (only this child, by its pid). */
  async stop(): Promise<void> {
    if (this.exited) return;
    await this.call({ op: 'exit' }, 5_000).catch(() => undefined);
    const timer = setTimeout(() => {
      if (!this.exited && this.proc.pid) process.kill(this.proc.pid, 'SIGKILL');
    }, 5_000);
    await this.exit;
    clearTimeout(timer);
  }
}

type Handler = (
  m: Message,
) => Record<string, unknown> | undefined | Promise<Record<string, unknown> | undefined>;

/** The child side: answers each request with its handler's result (`clock`, `ready`, `exit` are built in). */
export function serveParent(handlers: Record<string, Handler>, onExit?: () => Promise<void> | void): void {
  const reply = (m: Record<string, unknown>) => process.send?.(m);
  process.on('message', async (m: Message) => {
    try {
      if (m.op === 'clock') return reply({ op: 'clock', rid: m.rid, c: now() });
      if (m.op === 'exit') {
        await onExit?.();
        reply({ op: 'exit', rid: m.rid });
        process.disconnect?.();
        setTimeout(() => process.exit(0), 50);
        return;
      }
      const h = handlers[m.op];
      if (!h) throw new Error(`unknown op ${m.op}`);
      const r = await h(m);
      reply({ ...(r ?? {}), op: m.op, rid: m.rid });
    } catch (err) {
      reply({ op: 'error', rid: m.rid, message: err instanceof Error ? err.message : String(err) });
    }
  });
  // The parent died: nothing to serve any more.
  process.on('disconnect', () => setTimeout(() => process.exit(0), 100).unref());
}
