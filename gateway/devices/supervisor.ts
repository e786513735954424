/**
 * Runs one driver instance: creates it with its context, starts it, and restarts it with
 * exponential backoff when it fails to start or reports a fatal fault. A failing driver
 * never stops the others.
 */
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { AnyDriverDefinition, CommandResult, DriverContext, DriverInstance } from './driver-api.js';

export type DriverState = 'starting' | 'running' | 'backoff' | 'stopped';

export interface SupervisorOptions {
  definition: AnyDriverDefinition;
  config: { id: string; devices: { id: string }[] };
  context: DriverContext;
  log: Logger;
  onRestart?: () => void;
  /** First retry delay; doubles up to maxBackoffMs, with ±20 % jitter. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
}

export class DriverSupervisor {
  state: DriverState = 'stopped';
  lastError?: string;
  private instance?: DriverInstance;
  private timer?: NodeJS.Timeout;
  private failures = 0;
  private stopping = false;

  constructor(private readonly o: SupervisorOptions) {}

  get id(): string {
    return this.o.config.id;
  }

  get family(): string {
    return this.o.definition.family;
  }

  start(): void {
    this.stopping = false;
    void this.run();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.timer);
    const inst = this.instance;
    this.instance = undefined;
    this.state = 'stopped';
    if (inst) await safeStop(inst, this.o.log);
  }

  async command(deviceId: string, name: string, args: unknown): Promise<CommandResult> {
    if (!this.instance || this.state !== 'running')
      return { ok: false, error: `driver ${this.id} is not running (${this.state})` };
    try {
      return await this.instance.command(deviceId, name, args);
    } catch (err) {
      return { ok: false, error: errorMessage(err) };
    }
  }

  private async run(): Promise<void> {
    this.state = 'starting';
    let inst: DriverInstance;
    try {
      inst = this.o.definition.create(this.o.config, this.o.context);
      this.instance = inst;
      inst.onFatal?.((err) => this.fail(inst, err));
      await inst.start();
    } catch (err) {
      this.fail(this.instance, err);
      return;
    }
    if (this.stopping || this.instance !== inst) return;
    this.state = 'running';
    this.lastError = undefined;
    this.failures = 0;
    this.o.log.info('driver running');
  }

  private fail(inst: DriverInstance | undefined, err: unknown): void {
    if (this.stopping || (inst && this.instance !== inst)) return;
    this.instance = undefined;
    this.failures += 1;
    this.lastError = errorMessage(err);
    const base = Math.min(
      this.o.maxBackoffMs ?? 60_000,
      (this.o.initialBackoffMs ?? 1000) * 2 ** (this.failures - 1),
    );
    const delay = Math.round(base * (0.8 + Math.random() * 0.4));
    this.state = 'backoff';
    this.o.log.error(
      { err: this.lastError, retryInMs: delay, failures: this.failures },
      'driver failed; restarting',
    );
    if (inst) void safeStop(inst, this.o.log);
    this.timer = setTimeout(() => {
      this.o.onRestart?.();
      void this.run();
    }, delay);
  }
}

async function safeStop(inst: DriverInstance, log: Logger): Promise<void> {
  try {
    await inst.stop();
  } catch (err) {
    log.warn({ err: errorMessage(err) }, 'driver stop failed');
  }
}
