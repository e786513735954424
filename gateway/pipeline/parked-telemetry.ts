/**
 * Telemetry waiting for room in a batch while the gateway is behind, oldest first. Waiting
 * telemetry coalesces: the latest reading of a device and quantity replaces the waiting one and
 * keeps its place in the queue, so a chatty device cannot starve the others. A late (historical)
 * reading never replaces a live one, nor the other way round. When the queue is full the oldest
 * reading is dropped. Each reading replaced or dropped is shed, reported per family.
 */
import type { DeviceEvent, DeviceRef } from '../core/envelope.js';

export interface Parked {
  e: DeviceEvent;
  device: DeviceRef;
}

export class ParkedTelemetry {
  private readonly items = new Map<string, Parked>();

  constructor(
    private readonly max: number,
    private readonly shed: (family: string) => void,
  ) {}

  get size(): number {
    return this.items.size;
  }

  park(e: DeviceEvent, device: DeviceRef): void {
    const key = `${e.deviceId}\u0000${e.type}${e.historical ? '\u0000late' : ''}`;
    if (this.items.has(key)) this.shed(device.family);
    else if (this.items.size >= this.max) this.shed(this.take()!.device.family);
    // The time it reached the gateway, not the time it leaves the queue.
    this.items.set(key, { e: e.receivedAt ? e : { ...e, receivedAt: new Date() }, device });
  }

  /** The oldest waiting reading, removed from the queue. */
  take(): Parked | undefined {
    const next = this.items.entries().next();
    if (next.done) return undefined;
    this.items.delete(next.value[0]);
    return next.value[1];
  }
}
