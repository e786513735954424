/**
 * `npm run bench`: runs the bench sections in order, each in its own Node process, prints the
 * figures and (re)writes docs/BENCHMARKS.md, whose last block holds the raw results as JSON: the
 * sections not run this time keep their last results (each shown with the date of its own run).
 * A section that fails or crashes (an exception, an uncaught error in a callback, a process killed
 * by a signal) is recorded as FAILED with its date, command and error: its older result is dropped.
 *
 *   npm run bench [-- --only pipeline,bare-relay] [--quick] [--out docs/BENCHMARKS.md] [--inproc]
 *
 * Adding a section = one entry in SECTIONS (see types.ts for the contract). A section's module is
 * imported only by the process that runs it: its RSS holds that section's code, not every section's.
 * The sections whose maxima are compared (`takesTurns`) run together and take turns (turns.ts).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GATEWAY_ENV, GATEWAY_NODE_FLAGS } from '../../gateway/core/node-flags.js';
import { buildCompiledBench, COMPILED_BENCH, REPO } from './build.js';
import { reportUncaught, runSectionProcess } from './child-run.js';
import { benchPlots } from './plots.js';
import { nextTurn, runPlan, takingTurnsIn, TurnTable } from './turns.js';
import {
  failed as isFailed,
  machine,
  mergeRun,
  printSection,
  readStoredResults,
  renderMarkdown,
  type StoredResults,
  type StoredSection,
} from './report.js';
import { type BenchOptions, type Section, type SectionResult, toSectionResult } from './types.js';

export const SECTIONS: Section[] = [
  {
    id: 'pipeline',
    title: 'Gateway pipeline: normalise + journal + local publish',
    compiled: true,
    takesTurns: true,
    run: async (o) => (await import('./pipeline.js')).benchPipeline(o),
  },
  {
    id: 'bare-relay',
    title: 'Floor: bare MQTT relay (aedes + MQTT.js subscribe and republish)',
    takesTurns: true,
    run: async (o) => (await import('./bare-relay.js')).benchBareRelay(o),
  },
  {
    id: 'alarm-latency',
    title: 'Alarm latency: device message to bus, feed and linkage command',
    run: async (o) => (await import('./alarm-latency.js')).benchAlarmLatency(o),
  },
  {
    id: 'family-alarm-latency',
    title: 'Alarm latency of the push families: smoke uplink and gate push to feed and gate command',
    run: async (o) => (await import('./family-alarm-latency.js')).benchFamilyAlarmLatency(o),
  },
  {
    id: 'ebike-cut-latency',
    title: 'E-bike pile: overcurrent on a stuck-relay port to the port.cut coil write at the pile',
    run: async (o) => (await import('./ebike-cut-latency.js')).benchEbikeCutLatency(o),
  },
  {
    id: 'video-linkage',
    title: 'Video linkage: gas alarm on a watched detector to GotoPreset and the camera.link outcome on the feed',
    run: async (o) => (await import('./video-linkage.js')).benchVideoLinkage(o),
  },
  {
    id: 'console-latency',
    title: 'Console: gas alarm to its row in the staff console inbox (chromium)',
    run: async (o) => (await import('./console-latency.js')).benchConsoleLatency(o),
  },
  {
    id: 'uplink-drain',
    title: 'Uplink: backlog built while the city broker is down, drained into mosquitto',
    run: async (o) => (await import('./uplink-drain.js')).benchUplinkDrain({ events: o.quick ? 100_000 : undefined, verbose: true }),
  },
  {
    id: 'overload',
    title: 'Overload: 3x capacity of telemetry for a minute, with alarms, through the real gateway',
    compiled: true,
    run: async (o) => (await import('./overload.js')).benchOverload(o),
  },
  {
    id: 'node-red',
    title: 'Peer: Node-RED 4 doing the same gas job (MQTT in, normalise + threshold, MQTT out to the bus and the city)',
    takesTurns: true,
    run: async (o) => (await import('./node-red.js')).benchNodeRed(o),
  },
  {
    id: 'relay-overload',
    title: 'Floor under overload: the bare relay in its own process, telemetry at 3x the gateway capacity with high-gas readings',
    run: async (o) => (await import('./relay-overload.js')).benchRelayOverload(o),
  },
  {
    id: 'cold-start',
    title: 'Cold start: `gateway start` on a 20,000-device site file to the first event on the bus',
    run: async (o) => (await import('./cold-start.js')).benchColdStart(o),
  },
];

const HERE = fileURLToPath(import.meta.url);
/** What the profiles showed and what changed because of them: kept by hand, copied into the report. */
const FINDINGS = join(REPO, 'scripts/bench/findings.md');

interface Args {
  only?: string[];
  quick: boolean;
  out?: string;
  inproc: boolean;
  child?: string;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { quick: false, inproc: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const next = () => {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) usage(`${arg} needs a value`);
      return v;
    };
    if (arg === '--only')
      a.only = next()
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    else if (arg === '--quick') a.quick = true;
    else if (arg === '--out') a.out = next();
    else if (arg === '--inproc') a.inproc = true;
    else if (arg === '--child') a.child = next();
    else if (arg === '--help' || arg === '-h') usage();
    else usage(`unknown argument ${arg}`);
  }
  for (const id of a.only ?? []) if (!SECTIONS.some((s) => s.id === id)) usage(`unknown section "${id}"`);
  return a;
}

function usage(error?: string): never {
  const text = [
    'usage: npm run bench -- [--only <section,...>] [--quick] [--out <file.md>] [--inproc]',
    `  sections, in order: ${SECTIONS.map((s) => s.id).join(', ')}`,
    '  --quick   smoke run with small counts (writes no results unless --out is given)',
    '  --out     results file to (re)write (default docs/BENCHMARKS.md; raw results kept in its last block)',
    '  --inproc  run sections in this process (debugging; RSS figures then include the harness)',
  ].join('\n');
  if (error) {
    console.error(`bench: ${error}\n${text}`);
    process.exit(2);
  }
  console.log(text);
  process.exit(0);
}

const log = (line: string) => process.stderr.write(`${line}\n`);

/**
 * Runs one section in a fresh process (this file with --child, compiled or under tsx) with the
 * gateway's V8 heap limit and malloc arena limit, as an installed gateway runs, and returns its
 * result. The processes the section starts (peers, load, subscribers) inherit the arena limit.
 */
function runInChild(section: Section, quick: boolean, turns?: TurnTable): Promise<SectionResult> {
  const args = ['--child', section.id, ...(quick ? ['--quick'] : [])];
  const o = turns ? takingTurnsIn(turns, section.id) : {};
  const env = { ...(o.env ?? process.env), ...GATEWAY_ENV };
  return section.compiled
    ? runSectionProcess(join(COMPILED_BENCH, 'run.js'), args, { ...o, env, execArgv: [...GATEWAY_NODE_FLAGS] })
    : runSectionProcess(HERE, args, { ...o, env, execArgv: ['--import', 'tsx', ...GATEWAY_NODE_FLAGS] });
}

async function childMain(id: string, quick: boolean): Promise<void> {
  const section = SECTIONS.find((s) => s.id === id)!;
  const opts: BenchOptions = { quick, log };
  reportUncaught();
  await nextTurn();
  try {
    const result = toSectionResult(await section.run(opts));
    process.send?.({ result });
  } catch (err) {
    process.send?.({ error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  }
  process.disconnect?.();
  // Sections close what they open; this only guards against a forgotten handle.
  setTimeout(() => process.exit(0), 200).unref();
}

function commandLine(argv: string[]): string {
  const args = argv.join(' ');
  return process.env.npm_lifecycle_event === 'bench'
    ? `npm run bench${args ? ` -- ${args}` : ''}`
    : `npx tsx scripts/bench/run.ts${args ? ` ${args}` : ''}`;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const args = parseArgs(argv);
  if (args.child) return childMain(args.child, args.quick);

  const selected = SECTIONS.filter((s) => !args.only || args.only.includes(s.id));
  const write = !args.quick || args.out !== undefined;
  const outMd = resolve(REPO, args.out ?? 'docs/BENCHMARKS.md');
  const m = machine();
  const command = commandLine(argv);
  log(
    `bench: ${selected.map((s) => s.id).join(', ')}${args.quick ? ' (quick)' : ''} on ${m.cpu}, ${m.cores} cores, Node ${m.node}`,
  );

  if (!args.inproc && selected.some((s) => s.compiled)) {
    log(`bench: npm run build, and the bench scripts compiled into ${COMPILED_BENCH} (for ${selected.filter((s) => s.compiled).map((s) => s.id).join(', ')})`);
    buildCompiledBench();
  }
  const runDate = new Date().toISOString();
  const fresh: StoredSection[] = [];
  let failed = 0;
  const runOne = async (section: Section, turns?: TurnTable): Promise<StoredSection> => {
    if (!turns) log(`\n[${section.id}] ${section.title}`);
    const started = Date.now();
    const stored: StoredSection = {
      id: section.id,
      title: section.title,
      command,
      date: new Date(started).toISOString(),
      durationS: 0,
      quick: args.quick,
      machine: { ...m, loadAvg: machine().loadAvg },
      status: 'ok',
      result: { figures: [] },
    };
    try {
      stored.result = args.inproc
        ? toSectionResult(await section.run({ quick: args.quick, log }))
        : await runInChild(section, args.quick, turns);
    } catch (err) {
      failed++;
      stored.status = 'failed';
      stored.error = err instanceof Error ? (args.inproc ? (err.stack ?? err.message) : err.message) : String(err);
      log(`[${section.id}] FAILED: ${stored.error}`);
    } finally {
      turns?.done(section.id);
    }
    stored.durationS = Math.round((Date.now() - started) / 1000);
    printSection(stored, (s) => process.stdout.write(s));
    return stored;
  };
  for (const item of runPlan(selected, args.inproc)) {
    // Later sections may compare with earlier ones of this run (the peers use the gateway's capacity).
    process.env.BENCH_RESULTS_FILE = outMd;
    process.env.BENCH_RUN_RESULTS = JSON.stringify(
      Object.fromEntries(fresh.filter((s) => !isFailed(s)).map((s) => [s.id, s.result])),
    );
    if (!Array.isArray(item)) {
      fresh.push(await runOne(item));
      continue;
    }
    log(`\n[${item.map((s) => s.id).join(' + ')}] together, taking turns: one step of a sweep each, on a quiet machine`);
    const started = new Set<string>();
    const table = new TurnTable(
      item.map((s) => s.id),
      (id) => {
        log(started.has(id) ? `[${id}]` : `\n[${id}] ${item.find((s) => s.id === id)!.title}`);
        started.add(id);
      },
    );
    const runs = item.map((section) => runOne(section, table));
    fresh.push(...(await Promise.all(runs)));
  }

  if (write && fresh.length) {
    let stored: StoredResults = { format: 1, sections: {} };
    if (existsSync(outMd)) {
      try {
        stored = readStoredResults(readFileSync(outMd, 'utf8')) ?? stored;
      } catch (err) {
        log(`bench: the results block of ${outMd} is unreadable (${err}); starting afresh`);
      }
    }
    stored = mergeRun(stored, fresh, { date: runDate, command, quick: args.quick });
    mkdirSync(dirname(outMd), { recursive: true });
    writeFileSync(
      outMd,
      renderMarkdown(
        stored,
        SECTIONS.map((s) => s.id),
        readFileSync(FINDINGS, 'utf8'),
      ),
    );
    // The plots BENCHMARKS.md embeds, next to it.
    const plots: string[] = [];
    for (const p of benchPlots(stored)) {
      plots.push(resolve(dirname(outMd), p.file));
      writeFileSync(plots.at(-1)!, p.svg);
    }
    log(`\nbench: wrote ${outMd} and ${plots.join(', ')}`);
  } else if (!write) {
    log('\nbench: --quick run, nothing written (add --out <file> to write)');
  }
  if (failed) process.exitCode = 1;
}

await main();
