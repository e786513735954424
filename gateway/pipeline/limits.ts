/** The pipeline's bounds: how much it holds, and how long telemetry waits to share a transaction. */

export interface PipelineLimits {
  /**
   * Events stamped and not yet durable at most; alarms and events always join, telemetry fills up.
   * Beyond it the pipeline is behind: telemetry waits, and a newer reading replaces a waiting one
   * (counted as shed). So it is also the stall the pipeline rides out without shedding: a garbage
   * collection, a slow fsync, another process on the CPU. 4,000 is 130 ms at 30,000 events/s
   * (2,000 was 67 ms: on a busy 2-core machine 25,000 readings/s then shed in every try while the
   * pipeline kept up on average); the price is memory under overload, about 10 MB of peak RSS.
   */
  maxBatch: number;
  /** Events in one transaction at most (more in the next tick's): bounds how long a commit on the event loop holds an alarm. */
  maxCommit: number;
  /** Telemetry readings waiting for a commit at most; beyond it the oldest reading is shed. */
  maxQueuedTelemetry: number;
  /**
   * Time one tick may spend moving waiting telemetry into a batch (stamping, rules), in ms: it
   * bounds how long an alarm arriving meanwhile waits for the event loop.
   */
  fillBudgetMs: number;
  /**
   * How long telemetry alone waits for more events to share its transaction, in ms (0: a
   * transaction per tick); a full batch (`maxCommit`) goes at once. Every transaction rewrites
   * the pages it touches in the WAL, and the fsync sends them to the disk: measured with 4,000
   * devices and synchronous FULL, a transaction per reading (a site whose readings trickle in)
   * wrote 44 KiB to the disk per event and took 136 us of CPU; twenty readings per transaction
   * 5.2 KiB and 19 us. A reading on the local bus 100 ms later is still well within a poll interval.
   */
  telemetryCommitMs: number;
}

export const DEFAULT_PIPELINE_LIMITS: Readonly<PipelineLimits> = Object.freeze({
  maxBatch: 4_000,
  maxCommit: 500,
  maxQueuedTelemetry: 20_000,
  fillBudgetMs: 10,
  telemetryCommitMs: 100,
});
