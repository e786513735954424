/**
 * Uplink gauges, sampled every second: drain rate (acknowledged rows per second over the
 * last ten seconds), in-flight rows, and per lane the backlog, its bytes and the age of the
 * oldest pending row.
 */
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import type { Outbox } from './outbox.js';

/** Samples kept: ten seconds of one-second intervals. */
const SAMPLES = 11;

export interface UplinkStatsOptions {
  outbox: Outbox;
  /** Rows acknowledged since the start. */
  ackedTotal: () => number;
  inflight: () => number;
  metrics: Metrics;
  log: Logger;
}

export class UplinkStats {
  private readonly samples: { t: number; n: number }[] = [];
  private timer?: NodeJS.Timeout;

  constructor(private readonly o: UplinkStatsOptions) {}

  start(): void {
    this.timer = setInterval(() => this.sample(), 1000);
    this.timer.unref();
    this.sample();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Acknowledged rows per second over the sampled interval. */
  drainRate(): number {
    const s = this.samples;
    if (s.length < 2) return 0;
    const a = s[0]!;
    const b = s[s.length - 1]!;
    return b.t > a.t ? ((b.n - a.n) * 1000) / (b.t - a.t) : 0;
  }

  private sample(): void {
    const now = Date.now();
    this.samples.push({ t: now, n: this.o.ackedTotal() });
    while (this.samples.length > SAMPLES) this.samples.shift();
    const m = this.o.metrics;
    m.uplinkDrainRate.set(Math.round(this.drainRate()));
    m.uplinkInflight.set(this.o.inflight());
    try {
      let bytes = 0;
      for (const l of this.o.outbox.stats()) {
        m.uplinkBacklog.set({ lane: l.lane }, l.pending);
        m.uplinkOldestPendingSeconds.set(
          { lane: l.lane },
          l.oldestCreatedAt === null ? 0 : (now - l.oldestCreatedAt) / 1000,
        );
        bytes += l.bytes;
      }
      m.uplinkBacklogBytes.set(bytes);
    } catch (err) {
      this.o.log.warn({ err: errorMessage(err) }, 'outbox stats failed');
    }
  }
}
