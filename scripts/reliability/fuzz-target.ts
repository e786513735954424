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
