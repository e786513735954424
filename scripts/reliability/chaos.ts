/**
 * `npm run chaos`: the long chaos runs, each writing docs/reliability/<id>.json.
 *
 *   npm run chaos [-- --kills 50] [--flap-minutes 3] [--only kill,flap] [--seed 12345] [--keep]
 *
 * - chaos-kill: SIGKILL of the gateway at random moments under load, `--kills` times;
 * - chaos-broker-flap: the city broker stopped and started every few seconds for `--flap-minutes`.
 * The CI-sized versions are gateway/e2e/chaos-kill.test.ts and chaos-broker-flap.test.ts; the
 * wall-clock jump is covered by gateway/alarms/clock.test.ts (fake timers, no real clock change).
 */
import { runFlapChaos, runKillChaos } from './chaos-runs.js';
import { commandLine, parseOptions, recordRun, runCommand } from './results.js';

const log = (line: string) => process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const o = parseOptions(argv, {
    kills: 'number',
    'flap-minutes': 'number',
    only: 'string',
    seed: 'number',
    keep: 'boolean',
  });
  const only = o.only ? String(o.only).split(',') : ['kill', 'flap'];
  const bad = only.filter((x) => x !== 'kill' && x !== 'flap');
  if (bad.length) throw new Error(`--only takes kill and/or flap, not ${bad.join(', ')}`);
  const seed = o.seed !== undefined ? Math.floor(Number(o.seed)) : Math.floor(Math.random() * 2 ** 31);
  const command = commandLine('chaos', 'scripts/reliability/chaos.ts', argv);
  const common = {
    seed,
    changesPerS: 600,
    alarmEveryMs: 2000,
    buses: 4,
    unitsPerBus: 50,
    pollIntervalMs: 250,
    drainTimeoutMs: 120_000,
    keep: o.keep === true,
    log,
  };
  let failed = 0;
  if (only.includes('kill')) {
    const kills = Math.max(1, Math.floor(Number(o.kills ?? 50)));
    log(`chaos-kill: ${kills} SIGKILLs of the gateway under load (seed ${seed})`);
    const r = await recordRun(
      { id: 'chaos-kill', title: 'kill -9 of the gateway under load, uplink on', command },
      () =>
        runKillChaos({
          ...common,
          kills,
          lifeMs: [300, 6000],
          startupKillShare: 0.15,
          startupWindowMs: 2500,
        }),
      { log },
    );
    if (r.status !== 'passed') failed += 1;
    log(JSON.stringify(r.figures));
  }
  if (only.includes('flap')) {
    const minutes = Number(o['flap-minutes'] ?? 3);
    log(`chaos-broker-flap: the city broker stopped and restarted for ${minutes} min (seed ${seed})`);
    const r = await recordRun(
      { id: 'chaos-broker-flap', title: 'City broker flapping under load', command },
      () =>
        runFlapChaos({
          ...common,
          durationMs: minutes * 60_000,
          downMs: [500, 5000],
          upMs: [1000, 8000],
        }),
      { log },
    );
    if (r.status !== 'passed') failed += 1;
    log(JSON.stringify(r.figures));
  }
  return failed ? 1 : 0;
}

runCommand('chaos', main);
