/**
 * The chaos scenarios, shared by the CI tests (gateway/e2e/chaos-*.test.ts, small counts) and
 * `npm run chaos` (long runs, result files):
 *
 * - kill: the gateway process is killed with SIGKILL at random moments (some during its start-up)
 *   while detectors produce events and the uplink forwards them; it is restarted every time.
 * - broker flap: the city broker (mosquitto) is stopped and started again and again under load.
 *
 * "Acknowledged" here means committed to the journal: the event and its outbox row are in one
 * SQLite transaction (synchronous FULL), and nothing is published on the local bus (or answered
 * to a device) before that commit. So the checks at the end are:
 * - every event seen on the local bus is in the journal (nothing shown was lost by a kill);
 * - the journal's seq numbers are 1..N without a gap (per-gateway sequence across every kill);
 * - every journaled event reached the city broker; a message received twice has the same seq
 *   and event id both times; nothing arrived that the journal does not have;
 * - the outbox is empty once drained.
 */
import type { MqttClient } from 'mqtt';
import { checkDelivery, type DeliveryCheck, deliveryFailures } from './city-recorder.js';
import type { RunOutcome } from './results.js';
import { metric, Rig, type RigOptions, sleep, watchLocalBus } from './rig.js';

export interface ChaosCommon {
  seed: number;
  /** Detector level changes per second (about the `gas.reading` rate). */
  changesPerS: number;
  /** A high gas alarm every so often (its own lane; raised and cleared by the built-in rule). */
  alarmEveryMs: number;
  buses: number;
  unitsPerBus: number;
  pollIntervalMs: number;
  /** Bound of the final wait for the outbox to drain. */
  drainTimeoutMs: number;
  keep?: boolean;
  log?: (line: string) => void;
}

export interface KillChaosOptions extends ChaosCommon {
  kills: number;
  /** A kill lands this long after ready, uniformly between the two bounds. */
  lifeMs: [number, number];
  /** Share of the kills aimed at the start-up instead (a random moment after spawn). */
  startupKillShare: number;
  startupWindowMs: number;
}

export interface ChaosResult extends RunOutcome {
  check?: DeliveryCheck;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)]! : 0;
};

function rigOf(o: ChaosCommon, backoff?: RigOptions['backoff']): Rig {
  return new Rig({
    buses: o.buses,
    unitsPerBus: o.unitsPerBus,
    pollIntervalMs: o.pollIntervalMs,
    seed: o.seed,
    keep: o.keep,
    log: o.log,
    backoff,
  });
}

/**
 * Final phase of every scenario: load off, the gateway running until the outbox is empty, a
 * clean stop (SIGTERM, exit 0), then the journal is compared with what the city received.
 */
export async function finish(rig: Rig, o: Pick<ChaosCommon, 'drainTimeoutMs'>, seen?: Set<string>) {
  const failures: string[] = [];
  rig.load.stop();
  let check: DeliveryCheck | undefined;
  // A clean stop may commit a last event or two after the drain (bounded: 3 rounds).
  for (let round = 0; round < 3; round++) {
    const gw = await rig.startGateway();
    if (!(await rig.waitDrained(o.drainTimeoutMs)))
      failures.push(`round ${round + 1}: the outbox did not drain within ${o.drainTimeoutMs} ms`);
    const exit = await rig.kill(gw.proc, 'SIGTERM');
    if (exit.code !== 0)
      failures.push(
        `clean stop exited with ${exit.code ?? exit.signal}; stderr: ${gw.proc.stderr().slice(-1500)}; stdout: ${gw.proc.stdout().slice(-1500)}`,
      );
    // give the recorder the last PUBACKed messages (bounded)
    for (let i = 0; i < 40 && !rig.city.hasAll(rig.dbState().lastSeq); i++) await sleep(50);
    check = checkDelivery(rig.dbPath, rig.city, seen);
    if (check.outboxPending === 0) break;
  }
  failures.push(...deliveryFailures(check!, rig.city.malformed));
  return { check: check!, failures };
}

export async function runKillChaos(o: KillChaosOptions): Promise<ChaosResult> {
  const log = o.log ?? (() => {});
  const rig = rigOf(o);
  const failures: string[] = [];
  const seen = new Set<string>();
  const readyMs: number[] = [];
  let startupKills = 0;
  let liveKills = 0;
  const loadStarted = Date.now();
  try {
    await rig.start();
    rig.load.start(o.changesPerS, { alarmEveryMs: o.alarmEveryMs, alarmHoldMs: Math.min(5000, o.alarmEveryMs) });
    for (let i = 0; i < o.kills; i++) {
      let sub: MqttClient | undefined;
      const t0 = Date.now();
      let gw;
      if (rig.rnd() < o.startupKillShare) {
        gw = rig.spawn();
        await sleep(Math.round(rig.rnd() * o.startupWindowMs));
        startupKills += 1;
      } else {
        const live = await rig.startGateway();
        readyMs.push(Date.now() - t0);
        gw = live.proc;
        sub = await watchLocalBus(live.brokerUrl, seen);
        await sleep(Math.round(o.lifeMs[0] + rig.rnd() * (o.lifeMs[1] - o.lifeMs[0])));
        liveKills += 1;
      }
      const exit = await rig.kill(gw, 'SIGKILL');
      sub?.end(true);
      if (exit.signal !== 'SIGKILL') {
        failures.push(
          `gateway life ${i + 1} ended by itself (${exit.code ?? exit.signal}) before the kill: ${gw.stderr().slice(-1500)}`,
        );
        break;
      }
      log(`kill ${i + 1}/${o.kills}: ${rig.dbState().lastSeq} events journaled, ${rig.city.messages} at the city broker`);
    }
    const loadS = (Date.now() - loadStarted) / 1000;
    const end = await finish(rig, o, seen);
    failures.push(...end.failures);
    const c = end.check;
    return {
      check: c,
      failures,
      figures: {
        'kills (SIGKILL)': startupKills + liveKills,
        'of which during start-up': startupKills,
        'kills survived': failures.length ? 'see notes' : startupKills + liveKills,
        'events checked (journaled)': c.journaled,
        'events seen on the local bus': seen.size,
        'alarms raised': c.alarmsRaised,
        lost: c.lost,
        'seen on the local bus, not journaled': c.seenNotJournaled,
        'duplicates at the city broker (same id)': c.duplicates,
        'seq gaps': c.journalSeqGaps,
        'seq with another id': c.idMismatches,
        'replayed (historical)': c.historical,
        'events/s offered (average)': Math.round(c.journaled / loadS),
        'restart to ready, median ms': median(readyMs),
        seed: o.seed,
      },
      notes: [
        `${o.buses} Modbus TCP bus(es) x ${o.unitsPerBus} simulated gas detectors polled every ${o.pollIntervalMs} ms, ~${o.changesPerS} level changes/s, a high gas alarm every ${o.alarmEveryMs} ms; journal synchronous FULL; city broker: mosquitto on 127.0.0.1 with a persistent-session recorder.`,
        `each life lasts ${o.lifeMs[0]}-${o.lifeMs[1]} ms after ready before SIGKILL; ${Math.round(o.startupKillShare * 100)} % of the kills land at a random moment of the start-up instead.`,
        'acknowledged = committed to the journal (event and outbox row in one transaction); the local bus only ever sees committed events.',
      ],
    };
  } finally {
    await rig.close();
  }
}

export interface FlapChaosOptions extends ChaosCommon {
  /** Number of stop/start cycles, or until `durationMs` has passed (whichever is given). */
  flaps?: number;
  durationMs?: number;
  downMs: [number, number];
  upMs: [number, number];
}

async function linkUp(opsUrl: string): Promise<boolean> {
  return (await metric(opsUrl, 'gateway_uplink_link_up').catch(() => 0)) === 1;
}

export async function runFlapChaos(o: FlapChaosOptions): Promise<ChaosResult> {
  const log = o.log ?? (() => {});
  const rig = rigOf(o);
  const failures: string[] = [];
  let flaps = 0;
  const between = (r: [number, number]) => Math.round(r[0] + rig.rnd() * (r[1] - r[0]));
  const started = Date.now();
  try {
    await rig.start();
    rig.load.start(o.changesPerS, { alarmEveryMs: o.alarmEveryMs, alarmHoldMs: Math.min(5000, o.alarmEveryMs) });
    const gw = await rig.startGateway();
    await sleep(between(o.upMs));
    const more = () =>
      o.flaps !== undefined ? flaps < o.flaps : Date.now() - started < (o.durationMs ?? 0);
    while (more()) {
      await rig.down('SIGTERM');
      await sleep(between(o.downMs));
      await rig.up();
      flaps += 1;
      await sleep(between(o.upMs));
      if (gw.proc.child.exitCode !== null || gw.proc.child.signalCode !== null) {
        failures.push(`the gateway exited during the flaps: ${gw.proc.stderr().slice(-1500)}`);
        break;
      }
      log(`flap ${flaps}: ${rig.dbState().lastSeq} events journaled, ${rig.city.messages} at the city broker`);
    }
    const lost = await metric(gw.opsUrl, 'gateway_uplink_connect_failures_total').catch(() => undefined);
    // give the uplink a moment to connect after the last restart, so that its session is counted
    for (let i = 0; i < 100 && rig.city.onlineSessions.length && !(await linkUp(gw.opsUrl)); i++) await sleep(100);
    await sleep(300); // its retained online status on the way to the recorder
    const sessions = new Set(rig.city.onlineSessions).size;
    const loadS = (Date.now() - started) / 1000;
    const exit = await rig.kill(gw.proc, 'SIGTERM');
    if (exit.code !== 0)
      failures.push(
        `the gateway's clean stop exited with ${exit.code ?? exit.signal}; stderr: ${gw.proc.stderr().slice(-1500)}`,
      );
    const end = await finish(rig, o);
    failures.push(...end.failures);
    const c = end.check;
    return {
      check: c,
      failures,
      figures: {
        'broker stops (SIGTERM) and restarts': flaps,
        'uplink reconnects': Math.max(0, sessions - 1),
        'failed or lost connections counted by the gateway': lost ?? 'n/a',
        'events checked (journaled)': c.journaled,
        'alarms raised': c.alarmsRaised,
        lost: c.lost,
        'duplicates at the city broker (same id)': c.duplicates,
        'seq gaps': c.journalSeqGaps,
        'seq with another id': c.idMismatches,
        'replayed (historical)': c.historical,
        'events/s offered (average)': Math.round(c.journaled / loadS),
        seed: o.seed,
      },
      notes: [
        `${o.buses} Modbus TCP bus(es) x ${o.unitsPerBus} simulated gas detectors polled every ${o.pollIntervalMs} ms, ~${o.changesPerS} level changes/s, a high gas alarm every ${o.alarmEveryMs} ms.`,
        `mosquitto stopped by its pid (SIGTERM: it keeps its persistent sessions) for ${o.downMs[0]}-${o.downMs[1]} ms, then up for ${o.upMs[0]}-${o.upMs[1]} ms; the gateway's uplink backoff 200-2000 ms.`,
        'uplink reconnects = distinct `session` numbers in the retained online status seen at the city broker, minus the first connection (the drain phase after the flaps not counted).',
      ],
    };
  } finally {
    await rig.close();
  }
}
