/**
 * One fuzzed ingress: generated inputs (fast-check, seeded) thrown at a real listener or parser.
 * The CI tests run each target with few runs; `npm run fuzz` runs them long and records the figures.
 */
export interface FuzzOutcome {
  /** Generated inputs tried. */
  inputs: number;
  /** Inputs refused with a clear error (counted by the gateway or returned as an error). */
  refused: number;
  /** Process crashes, hangs or broken invariants (partial rows, a healthy peer disturbed): must be 0. */
  failures: number;
  /** Short figures worth showing, e.g. `{ "rss growth MB": 3 }`. */
  figures?: Record<string, number | string>;
}

export interface FuzzTarget {
  id: string;
  /** What is fuzzed, e.g. "raw MQTT packets and publishes to the embedded broker". */
  title: string;
  run(o: { numRuns: number; seed: number; log: (line: string) => void }): Promise<FuzzOutcome>;
}

/**
 * Counts uncaught exceptions and unhandled rejections while a target runs (each one is a failure:
 * an ingress must turn every bad input into a handled error). `stop()` removes the handlers.
 */
export function catchUnhandled(log: (line: string) => void): { readonly count: number; stop(): void } {
  let count = 0;
  const on = (err: unknown) => {
    count += 1;
    log(`unhandled: ${String(err)}`);
  };
  process.on('unhandledRejection', on);
  process.on('uncaughtException', on);
  return {
    get count() {
      return count;
    },
    stop() {
      process.off('unhandledRejection', on);
      process.off('uncaughtException', on);
    },
  };
}
