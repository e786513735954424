/**
 * Heartbeat bookkeeping: a LoRaWAN device sends an uplink at least once per heartbeat interval
 * (its model's, or its own in the site file); after `missed` intervals without one it is
 * reported offline. Per device, because one driver instance serves models with different
 * intervals (the host's liveness timeout is one per instance).
 */
import type { DriverContext } from '../../gateway/devices/driver-api.js';

type Clock = DriverContext['clock'];
type Timer = ReturnType<Clock['after']>;

export class Heartbeats {
  private readonly timers = new Map<string, Timer>();

  constructor(
    private readonly clock: Clock,
    private readonly offline: (deviceId: string, reason: string) => void,
  ) {}

  /** Heard from the device: its silence timer starts again. */
  heard(deviceId: string, intervalS: number, missed: number): void {
    this.timers.get(deviceId)?.cancel();
    this.timers.set(
      deviceId,
      this.clock.after(intervalS * missed * 1000, () => {
        this.timers.delete(deviceId);
        this.offline(deviceId, `missed ${missed} heartbeats (one every ${intervalS} s)`);
      }),
    );
  }

  stop(): void {
    for (const t of this.timers.values()) t.cancel();
    this.timers.clear();
  }
}
