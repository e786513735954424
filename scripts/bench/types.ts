/**
 * The contract between the bench harness (`run.ts`) and its sections. A section is a module
 * exporting `async function benchX(opts: BenchOptions): Promise<SectionResult>`; it is listed
 * once in `SECTIONS` in run.ts. Each section runs in its own Node process (so its RSS and heap
 * are its own), and its result must be plain data (it travels over IPC and into JSON).
 */

export interface BenchOptions {
  /** Smaller counts and shorter steps: a smoke run. */
  quick: boolean;
  /** Progress lines for the operator (stderr); not part of the results. */
  log: (line: string) => void;
}

/** Optional performance budget the figure is compared against. */
export interface Budget {
  op: '<=' | '>=';
  value: number;
  /** Where the budget comes from, e.g. `performance budget: alarm latency p99`. */
  source: string;
}

/** One named figure. `id` is stable (used as a JSON key); `name` is what the tables show. */
export interface Figure {
  id: string;
  name: string;
  value: number | string;
  unit?: string;
  budget?: Budget;
  /** Also shown in the summary at the top of BENCHMARKS.md (figures with a budget always are). */
  summary?: boolean;
}

/** A detail table (e.g. one row per offered rate). Cells are already formatted. */
export interface Table {
  title: string;
  columns: string[];
  rows: (string | number)[][];
}

/** Points measured over something (time, offered rate), for the plots of BENCHMARKS.md (plots.ts). */
export interface Series {
  id: string;
  title: string;
  x: string;
  y: string;
  points: [number, number][];
}

export interface SectionResult {
  figures: Figure[];
  tables?: Table[];
  /** Raw points for the plots (kept in the raw results, not shown as tables). */
  series?: Series[];
  /** What was measured and how, in a few sentences (goes to BENCHMARKS.md). */
  method?: string[];
  /** Observations of this run (warnings, who was the bottleneck). */
  notes?: string[];
}

/** A flat record of named figures is accepted too (each key becomes a figure). */
export type SectionOutput = SectionResult | Record<string, number | string>;

export interface Section {
  /** `--only` name. */
  id: string;
  title: string;
  /**
   * Runs the compiled tree an installation runs (dist/, no TypeScript loader in the process): for
   * the sections whose figures include the gateway process's memory.
   */
  compiled?: boolean;
  /**
   * The sections whose maxima are compared: they run together, after the other sections listed
   * before the last of them, and take turns step by step (turns.ts).
   */
  takesTurns?: boolean;
  run: (opts: BenchOptions) => Promise<SectionOutput>;
}

/** Normalises what a section returned into a SectionResult. */
export function toSectionResult(out: SectionOutput): SectionResult {
  if (Array.isArray((out as SectionResult).figures)) return out as SectionResult;
  return {
    figures: Object.entries(out as Record<string, number | string>).map(([id, value]) => ({
      id,
      name: id,
      value,
    })),
  };
}
