/**
 * Availability of every device, kept in one place: repeated identical reports are dropped, the
 * `gateway_devices_online` gauge follows each change, and each change becomes one
 * `device.availability` event. With a liveness timeout, a device not heard from within it goes
 * offline by itself (push devices that fall silent have nobody to say so).
 */
import type { Clock, TimerHandle } from '../core/clock.js';
import type { DeviceEvent } from '../core/envelope.js';
import type { Metrics } from '../core/metrics.js';

export interface LivenessOptions {
  ingest(e: DeviceEvent): void;
  metrics: Metrics;
  clock: Clock;
  /** Called on every change (for the log). */
  onChange?(deviceId: string, online: boolean, reason?: string): void;
}

export function silenceReason(timeoutMs: number): string {
  return `not heard from for ${Math.round(timeoutMs / 1000)} s`;
}

export class Liveness {
  private readonly online = new Map<string, boolean>();
  private readonly timers = new Map<string, TimerHandle>();

  constructor(private readonly o: LivenessOptions) {}

  isOnline(deviceId: string): boolean | undefined {
    return this.online.get(deviceId);
  }

  /** Reports a change; the same state reported again is ignored (returns false). */
  report(deviceId: string, family: string, isOnline: boolean, reason?: string): boolean {
    if (this.online.get(deviceId) === isOnline) return false;
    const wasKnown = this.online.has(deviceId);
    this.online.set(deviceId, isOnline);
    if (isOnline) this.o.metrics.devicesOnline.inc({ family });
    else if (wasKnown) this.o.metrics.devicesOnline.dec({ family });
    this.o.ingest({
      deviceId,
      type: 'device.availability',
      kind: 'event',
      severity: isOnline ? 'info' : 'warning',
      data: { online: isOnline, ...(reason ? { reason } : {}) },
    });
    this.o.onChange?.(deviceId, isOnline, reason);
    return true;
  }

  /** The device was heard from: online, and its liveness timer (if any) starts again. */
  seen(deviceId: string, family: string, timeoutMs: number | undefined): void {
    this.report(deviceId, family, true);
    if (timeoutMs !== undefined) this.arm(deviceId, family, timeoutMs);
  }

  /** Starts (or restarts) the timer after which a silent device goes offline. */
  arm(deviceId: string, family: string, timeoutMs: number): void {
    this.timers.get(deviceId)?.cancel();
    this.timers.set(
      deviceId,
      this.o.clock.after(timeoutMs, () => {
        this.timers.delete(deviceId);
        this.report(deviceId, family, false, silenceReason(timeoutMs));
      }),
    );
  }

  /** Stops the timers of these devices (their driver stopped). */
  disarm(deviceIds: Iterable<string>): void {
    for (const id of deviceIds) {
      this.timers.get(id)?.cancel();
      this.timers.delete(id);
    }
  }
}
