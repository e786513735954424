/**
 * What the phases of the Modbus fuzz target (drivers/modbus/modbus.fuzz.ts) share: the response
 * timeout and time budget, the tally, the hang detectors and fast-check's parameters and report.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';

export const TIMEOUT_MS = 200;
/** Time budget of one phase: `npm run fuzz` asks for 20,000 runs, at up to a second each. */
export const PHASE_BUDGET_MS = 6 * 60_000;

/** A broken invariant (as opposed to an error of the rig). */
export class Broken extends Error {}

export interface Tally {
  inputs: number;
  refused: number;
  failures: number;
  /** RTU reads that took an earlier honest answer of the same shape (see checkResolved in modbus.fuzz.ts). */
  stale: number;
  /** TCP reads that took a frame spliced from pieces (see checkResolved in modbus.fuzz.ts). */
  spliced: number;
  /** Driver runs whose inputs could splice a frame: gas-2's counts and data were not checked. */
  spliceable: number;
  /** Healthy polls after a hostile phase that timed out (forgiven twice per run, see busRun in modbus.fuzz.ts). */
  slowHealthy: number;
  log: (line: string) => void;
}

/** Waits for `check` up to `ms` (a hang detector, not a performance assertion). */
export async function within<T>(what: string, ms: number, check: () => T | Promise<T>): Promise<NonNullable<T>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Broken(`stuck: ${what} not within ${ms} ms`);
    await sleep(10);
  }
}

export function settleWithin<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Broken(`stuck: ${what} did not settle within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Runs and seed; no shrinking (a run can take seconds); the phase's time budget (running out is no failure). */
export function budget(o: { numRuns: number; seed: number }): fc.Parameters<unknown> {
  return {
    numRuns: o.numRuns,
    seed: o.seed,
    endOnFailure: true,
    interruptAfterTimeLimit: PHASE_BUDGET_MS,
    markInterruptAsFailure: false,
  };
}

/** The failure, the seed and path to replay it, and the input. */
export function report<T>(details: fc.RunDetails<T>): string {
  const e = details.errorInstance;
  const err = e instanceof Error ? e.message : String(e);
  return `${err}\n${fc.defaultReportMessage(details) ?? ''}`;
}
