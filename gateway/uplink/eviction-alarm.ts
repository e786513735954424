/**
 * The `gateway.outbox.evicted` alarm: when the outbox disk budget makes it evict the oldest
 * telemetry, every eviction is counted at once, and one alarm (through the pipeline, like any
 * event) reports all evictions since the last one, at most once per `evictionAlarmIntervalMs`.
 */
import type { DeviceEvent } from '../core/envelope.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import type { UplinkConfig } from './uplink-config.js';

export interface EvictionAlarmOptions {
  /** Device id of the gateway itself (the alarm's source). */
  gateway: string;
  config: UplinkConfig['outbox'];
  /** Telemetry rows evicted in total (from the outbox counters). */
  evictedTotal: () => number | undefined;
  ingest: (e: DeviceEvent) => unknown;
  /** No alarm once the uplink is closing. */
  isClosing: () => boolean;
  metrics: Metrics;
  log: Logger;
}

export class EvictionAlarm {
  private toReport = 0;
  private lastAlarm = 0;
  private timer?: NodeJS.Timeout;

  constructor(private readonly o: EvictionAlarmOptions) {}

  /** Outbox callback: `count` telemetry rows were just evicted. */
  onEvicted(count: number): void {
    this.o.metrics.uplinkEvicted.inc(count);
    this.toReport += count;
    if (this.timer) return;
    const wait = Math.max(0, this.lastAlarm + this.o.config.evictionAlarmIntervalMs - Date.now());
    this.timer = setTimeout(() => this.raise(), wait);
    this.timer.unref();
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  private raise(): void {
    this.timer = undefined;
    const n = this.toReport;
    this.toReport = 0;
    if (!n || this.o.isClosing()) return;
    this.lastAlarm = Date.now();
    const evictedTotal = this.o.evictedTotal();
    this.o.log.error(
      { code: 'UPLINK_OUTBOX_EVICTED', evicted: n, evictedTotal },
      'outbox disk budget reached: oldest telemetry evicted',
    );
    this.o.ingest({
      deviceId: this.o.gateway,
      type: 'gateway.outbox.evicted',
      kind: 'alarm',
      severity: 'major',
      data: {
        evicted: n,
        evictedTotal: evictedTotal ?? n,
        lane: 'telemetry',
        budgetMB: this.o.config.maxSizeMB,
      },
    });
  }
}
