/** The stored results of the bench (the raw block of BENCHMARKS.md): what a run keeps per section. */
import type { SectionResult } from './types.js';

export interface Machine {
  cpu: string;
  cores: number;
  ramGiB: number;
  node: string;
  os: string;
  /** 1, 5 and 15 min load averages when the section started (the machine may be shared). */
  loadAvg: number[];
}

export interface StoredSection {
  id: string;
  title: string;
  command: string;
  /** When this section's run started (ISO). */
  date: string;
  durationS: number;
  quick: boolean;
  machine: Machine;
  /** `failed`: the section threw or its process died; `result` is then empty. Absent in older files: ok. */
  status?: 'ok' | 'failed';
  /** What went wrong, for a failed section (message, stack or the end of the process's stderr). */
  error?: string;
  /** For a failed section: the last run that had succeeded, whose results were dropped. */
  previousOk?: { date: string; command: string };
  result: SectionResult;
}

/** The latest `npm run bench` that wrote the file. */
export interface RunInfo {
  date: string;
  command: string;
  quick: boolean;
  sections: string[];
}

export interface StoredResults {
  /** Format of this file. */
  format: 1;
  sections: Record<string, StoredSection>;
  lastRun?: RunInfo;
}

export const failed = (s: StoredSection): boolean => s.status === 'failed';
