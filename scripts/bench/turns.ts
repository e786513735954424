/**
 * Turns between the sections whose maxima are compared (the gateway's pipeline, the relay floor,
 * Node-RED): their processes start together and take turns, one step of their sweeps each, in a
 * fixed order, on a quiet machine. A host whose speed drifts during the run (a shared machine)
 * then weighs on the three alike: the ratio of two maxima compares steps run a minute apart,
 * not sweeps run a quarter of an hour apart.
 *
 * Child side: `nextTurn()` waits for the section's turn (at its start, and after each step);
 * `betweenSteps(ms)` passes the turn, or sleeps where sections do not take turns (a section run
 * alone, `--inproc`); `afterAllSweeps()`, at the end of a sweep, waits until every other section
 * has ended its sweep too, so that what a section does next (Node-RED's overload, which leaves a
 * process of 2 GB behind) falls into no step of another. Parent side: `TurnTable` hands the
 * turns out.
 */
import { readFileSync } from 'node:fs';
import type { SectionProcessOptions } from './child-run.js';
import { sleep } from './stats.js';
import type { Section } from './types.js';

/** Over the section processes' IPC channel: the child asks with `wait`, the parent answers `go`. */
export interface TurnMessage {
  turn: 'wait' | 'go';
  /** With `wait`: the section's sweep has ended; its turn comes once every section's has. */
  last?: boolean;
}

export const TURNS_ENV = 'BENCH_TURNS';

const takingTurns = (): boolean => process.env[TURNS_ENV] === '1' && !!process.send;

/** Gives up the turn (if held) and resolves when it is this section's turn again (`last`: see `afterAllSweeps`). */
export function nextTurn(last = false): Promise<void> {
  if (!takingTurns()) return Promise.resolve();
  return new Promise((resolve) => {
    const onMessage = (m: unknown) => {
      if ((m as TurnMessage | undefined)?.turn !== 'go') return;
      process.off('message', onMessage);
      resolve();
    };
    process.on('message', onMessage);
    process.send!({ turn: 'wait', last } satisfies TurnMessage);
  });
}

/** After a section's last step: gives up the turn and resolves once every section's sweep has ended (at once when not taking turns). */
export function afterAllSweeps(): Promise<void> {
  return nextTurn(true);
}

/** Between two steps of a sweep: the other sections' turns, or a pause of `ms`. */
export function betweenSteps(ms: number): Promise<void> {
  return takingTurns() ? nextTurn() : sleep(ms);
}

/**
 * What a section process that takes turns is started with (for runSectionProcess): the variable
 * that tells it so, and its requests for a turn handed to the table as `id`.
 */
export function takingTurnsIn(table: TurnTable, id: string): Pick<SectionProcessOptions, 'env' | 'onMessage'> {
  return {
    env: { ...process.env, [TURNS_ENV]: '1' },
    onMessage: (m, reply) => {
      const { turn, last } = m as Partial<TurnMessage>;
      if (turn === 'wait') table.wait(id, () => reply({ turn: 'go' } satisfies TurnMessage), last);
    },
  };
}

/**
 * Hands out turns: one section at a time, in the order given, skipping those not waiting; a
 * section that ended leaves the table. The first turn goes out once every section has asked for
 * one (their processes are up). A section whose sweep has ended (`last`) gets its turn only once
 * no section still sweeps. Before each turn, `settle()` (the machine quiet); then `onTurn(id)` and
 * the section's own `go`.
 */
export class TurnTable {
  /** The sections waiting for a turn, and how to start each. */
  private readonly waiting = new Map<string, () => void>();
  private readonly notAsked: Set<string>;
  /** The sections still in the table whose sweep has not ended. */
  private readonly sweeping: Set<string>;
  private holder: string | undefined;
  private last = -1;

  constructor(
    private readonly order: readonly string[],
    private readonly onTurn: (id: string) => void = () => {},
    private readonly settle: () => Promise<void> = machineQuiet,
  ) {
    this.notAsked = new Set(order);
    this.sweeping = new Set(order);
  }

  /** `id` gave up its turn (or has just started) and waits for the next (`last`: its sweep has ended); `go` starts it. */
  wait(id: string, go: () => void, last = false): void {
    this.notAsked.delete(id);
    if (last) this.sweeping.delete(id);
    if (this.holder === id) this.holder = undefined;
    this.waiting.set(id, go);
    this.next();
  }

  /** `id` ended (with a result or not). */
  done(id: string): void {
    this.notAsked.delete(id);
    this.sweeping.delete(id);
    this.waiting.delete(id);
    if (this.holder === id) this.holder = undefined;
    this.next();
  }

  private next(): void {
    // While a section still sweeps, only those still sweeping take turns.
    const may = (id: string) => this.waiting.has(id) && (this.sweeping.size === 0 || this.sweeping.has(id));
    if (this.holder !== undefined || this.notAsked.size > 0 || !this.order.some(may)) return;
    let i = this.last;
    do i = (i + 1) % this.order.length;
    while (!may(this.order[i]!));
    const id = this.order[i]!;
    const go = this.waiting.get(id)!;
    this.last = i;
    this.holder = id;
    this.waiting.delete(id);
    void this.settle().then(() => {
      this.onTurn(id);
      go();
    });
  }
}

/**
 * Resolves once the machine is quiet: after at least 500 ms (what a section's process still does
 * after its step, e.g. the journal's index and checkpoints), a 250 ms window in which all CPUs
 * together were busy for at most a quarter of one; at most 5 s.
 */
export async function machineQuiet(): Promise<void> {
  await sleep(500);
  for (const until = Date.now() + 4_500; Date.now() < until; ) {
    const a = cpuTicks();
    await sleep(250);
    const b = cpuTicks();
    const cores = b.total > a.total ? ((b.busy - a.busy) / (b.total - a.total)) * b.cpus : 0;
    if (cores <= 0.25) return;
  }
}

/**
 * The aggregate `cpu` line of /proc/stat (proc(5)): busy ticks (user, nice, system, irq, softirq),
 * all ticks (those, idle, iowait and steal: time another guest of the host had), the CPUs.
 */
function cpuTicks(): { busy: number; total: number; cpus: number } {
  const stat = readFileSync('/proc/stat', 'utf8');
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = stat
    .slice(0, stat.indexOf('\n'))
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  const busy = user + nice + system + irq + softirq;
  return { busy, total: busy + idle + iowait + steal, cpus: (stat.match(/^cpu\d+ /gm) ?? []).length || 1 };
}

/**
 * The order sections run in: as listed, except those that take turns, which run together at the
 * place of the last of them (so after the sections listed before it, e.g. the overload's
 * calibration, which the peers' overload uses). One such section alone, or `--inproc`: as listed.
 */
export function runPlan(selected: Section[], inproc: boolean): (Section | Section[])[] {
  const group = inproc ? [] : selected.filter((s) => s.takesTurns);
  if (group.length < 2) return selected;
  return selected.flatMap((s): (Section | Section[])[] => (!s.takesTurns ? [s] : s === group.at(-1) ? [group] : []));
}
