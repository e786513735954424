/**
 * Runs async jobs strictly one at a time, in arrival order, except that `high` priority jobs
 * (commands such as closing a gas valve) go before `normal` ones (polls) still waiting.
 * A Modbus bus owns exactly one of these: never two requests in flight on one bus.
 */
export type Priority = 'high' | 'normal';

interface Job {
  run: () => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

export class SerialQueue {
  private readonly high: Job[] = [];
  private readonly normal: Job[] = [];
  private busy = false;
  private closedWith?: Error;

  /** Jobs waiting (not counting the one running). */
  get waiting(): number {
    return this.high.length + this.normal.length;
  }

  /** Jobs waiting plus the one running. */
  get size(): number {
    return this.waiting + (this.busy ? 1 : 0);
  }

  run<T>(fn: () => Promise<T>, priority: Priority = 'normal'): Promise<T> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    return new Promise<T>((resolve, reject) => {
      const job: Job = { run: fn, resolve: resolve as (v: unknown) => void, reject };
      (priority === 'high' ? this.high : this.normal).push(job);
      this.pump();
    });
  }

  /** Rejects every waiting job with `err`, and every later one; the running job finishes on its own. */
  close(err: Error): void {
    this.closedWith = err;
    for (const job of [...this.high.splice(0), ...this.normal.splice(0)]) job.reject(err);
  }

  private pump(): void {
    if (this.busy) return;
    const job = this.high.shift() ?? this.normal.shift();
    if (!job) return;
    this.busy = true;
    let result: Promise<unknown>;
    try {
      result = job.run();
    } catch (err) {
      result = Promise.reject(err);
    }
    result.then(job.resolve, job.reject).finally(() => {
      this.busy = false;
      this.pump();
    });
  }
}
