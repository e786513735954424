/**
 * The poll schedule of a polled driver instance (its config's `PollConfig` fields):
 *
 * - One cycle every pollIntervalMs reads each due device once, one after the other.
 * - A device failing offlineAfterFailures polls in a row is reported offline and then only tried
 *   once per backoff period (exponential, with jitter), so a dead device costs the others at most
 *   one failed poll per backoff period. One good poll brings it back online.
 * - `LinkDown` (no device can answer) counts as a failure, but the device gets no backoff: it is
 *   polled again as soon as the link is back (`pollNow`).
 * - While the gateway is behind, cycles come half as often.
 */
import { Backoff } from '../core/backoff.js';
import type { Clock, TimerHandle } from '../core/clock.js';
import { errorMessage } from '../core/errors.js';
import { type DeviceBase, LinkDown, type PollSettings } from './driver-api.js';

export interface PollSchedulerOptions<D extends DeviceBase> {
  devices: readonly D[];
  settings: PollSettings;
  poll(device: D): Promise<void>;
  /** A poll succeeded: the device was heard from. */
  succeeded(device: D): void;
  /** A poll failed (counted and logged by the caller). */
  failed(device: D, reason: string): void;
  /** The device failed offlineAfterFailures polls in a row. */
  offline(device: D, reason: string): void;
  busy(): boolean;
  clock: Clock;
  /** Jitter source of the backoff (tests). */
  random?: () => number;
}

interface Slot<D> {
  device: D;
  failures: number;
  backoff: Backoff;
  /** Monotonic ms before which the device is not polled (offline backoff); 0 = every cycle. */
  retryAt: number;
}

export class PollScheduler<D extends DeviceBase> {
  private readonly slots: Slot<D>[];
  private timer?: TimerHandle;
  private running = false;
  private cycling = false;
  /** pollNow() came during a cycle: run the next one at once. */
  private again = false;

  constructor(private readonly o: PollSchedulerOptions<D>) {
    const { initialMs, maxMs } = o.settings.backoff;
    this.slots = o.devices.map((device) => ({
      device,
      failures: 0,
      backoff: new Backoff({ initialMs, maxMs, random: o.random }),
      retryAt: 0,
    }));
  }

  /** The first cycle runs one interval after start (the driver may still be connecting). */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule(this.o.settings.pollIntervalMs);
  }

  stop(): void {
    this.running = false;
    this.timer?.cancel();
    this.timer = undefined;
  }

  pollNow(): void {
    if (!this.running) return;
    if (this.cycling) this.again = true;
    else this.schedule(0);
  }

  private schedule(delayMs: number): void {
    this.timer?.cancel();
    this.timer = this.o.clock.after(delayMs, () => {
      this.timer = undefined;
      void this.cycle();
    });
  }

  private async cycle(): Promise<void> {
    if (!this.running || this.cycling) return;
    this.cycling = true;
    this.again = false;
    const started = this.o.clock.elapsed();
    try {
      for (const slot of this.slots) {
        if (!this.running) return;
        if (this.o.clock.elapsed() >= slot.retryAt) await this.pollOne(slot);
      }
    } finally {
      this.cycling = false;
      // While the gateway is behind, poll half as often: alarms still come, telemetry waits less.
      const interval = this.o.settings.pollIntervalMs * (this.o.busy() ? 2 : 1);
      const spent = this.o.clock.elapsed() - started;
      if (this.running && !this.timer) this.schedule(this.again ? 0 : Math.max(0, interval - spent));
    }
  }

  private async pollOne(slot: Slot<D>): Promise<void> {
    try {
      await this.o.poll(slot.device);
    } catch (err) {
      if (this.running) this.failedOne(slot, err);
      return;
    }
    if (!this.running) return;
    slot.failures = 0;
    slot.retryAt = 0;
    slot.backoff.reset();
    this.o.succeeded(slot.device);
  }

  private failedOne(slot: Slot<D>, err: unknown): void {
    const reason = errorMessage(err);
    slot.failures += 1;
    this.o.failed(slot.device, reason);
    if (slot.failures < this.o.settings.offlineAfterFailures) return;
    this.o.offline(slot.device, reason);
    if (!(err instanceof LinkDown)) slot.retryAt = this.o.clock.elapsed() + slot.backoff.next();
  }
}
