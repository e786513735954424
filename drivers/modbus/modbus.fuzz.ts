/**
 * Fuzz target: hostile Modbus slaves against the Modbus bus (drivers/modbus/modbus-bus.ts) and the
 * gas-detector driver on top of it.
 *
 * A hostile slave (simulators/common/hostile-modbus-slave.ts) plays a healthy unit 1 and a hostile
 * unit 2 on one bus, over TCP and over RTU on a socat pty pair; fast-check (seeded) picks what unit 2
 * does with each request (test/modbus-fuzz-inputs.ts): wrong function code, byte count, length, unit
 * id, transaction id, protocol id, exception codes, slow drip, garbage, truncated and oversized
 * frames, broken CRC, reset, close, silence, late and duplicated answers. Invariants:
 *   - every request settles, with the right data (reads are checked against the slave's model,
 *     writes against the echoes the slave really sent) or with a coded ModbusError, never otherwise;
 *   - nothing is left in the bus queue, and once the slave calms down the healthy unit on the same
 *     bus is polled normally at once (counted at the slave);
 *   - through the driver: hostile answers end up as pollError / invalid reports, never as events with
 *     wrong data, and both detectors come back online;
 *   - all along, a well-behaved simulator on another bus is polled without a single failure;
 *   - no unhandled rejection or uncaught exception, heap growth bounded.
 */
import { spawnSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import { catchUnhandled, type FuzzOutcome, type FuzzTarget } from '../../gateway/testing/fuzz-target.js';
import {
  type HostileSlave,
  startHostileModbusRtu,
  startHostileModbusTcp,
} from '../../simulators/common/hostile-modbus-slave.js';
import { patternModel, type SlaveModel } from '../../simulators/common/modbus-frames.js';
import { openPtyPair } from '../../simulators/common/pty-pair.js';
import { GasDetectorSimulator, startGasSimulatorTcp } from '../../simulators/gas-detector/index.js';
import { GasDetectorConfig, gasDetector } from '../gas-detector/index.js';
import { ModbusBus } from './modbus-bus.js';
import { ModbusError, type ModbusErrorCode } from './modbus-errors.js';
import type { ModbusTransport } from './modbus-transport.js';
import { startHost } from '../../gateway/devices/testing/host-harness.js';
import {
  HEALTHY,
  HOSTILE,
  MUST_FAIL,
  maySplice,
  misbehaviour,
  type Step,
  steps,
} from './testing/modbus-fuzz-inputs.js';

const TIMEOUT_MS = 200;
/** Time budget of one phase: `npm run fuzz` asks for 20,000 runs, at up to a second each. */
const PHASE_BUDGET_MS = 6 * 60_000;
/** Heap growth over a whole run that counts as a failure (a few MB is normal). */
const HEAP_LIMIT_MB = 100;
const CODES = new Set<ModbusErrorCode>([
  'MODBUS_NOT_CONNECTED',
  'MODBUS_CONNECTION_LOST',
  'MODBUS_TIMEOUT',
  'MODBUS_EXCEPTION',
  'MODBUS_BAD_RESPONSE',
]);

class Broken extends Error {}

function run(bus: ModbusBus, s: Step): Promise<unknown> {
  const o = s.op;
  switch (o.fn) {
    case 'readHolding':
    case 'readInput':
    case 'readCoils':
    case 'readDiscreteInputs':
      return bus[o.fn](s.unitId, o.address, o.length);
    case 'writeCoil':
      return bus.writeCoil(s.unitId, o.address, o.value, 'high');
    case 'writeRegister':
      return bus.writeRegister(s.unitId, o.address, o.value);
    case 'writeRegisters':
      return bus.writeRegisters(s.unitId, o.address, o.values);
  }
}

/**
 * Throws Broken when a request that resolved did not get what the slave really holds / echoed.
 * RTU frames carry no transaction id (Modbus over Serial Line V1.02 §2.5.1.2): an answer the slave
 * sends after the response timeout, while the next request of the same shape to the same unit is
 * waiting, cannot be told from that request's answer. On RTU a read may therefore return what the
 * unit honestly answered to an earlier read of the same unit, function and quantity (`stale`).
 * Modbus TCP frames carry no checksum: when the slave sends a frame in pieces (cut short, announcing
 * more bytes than it sends, or split) and bytes of an answer out of its time land between them, they
 * make a well-formed frame no master can refuse; with such a pair in the run a wrong read is `spliced`.
 */
function checkResolved(
  s: Step,
  value: unknown,
  slave: HostileSlave,
  transport: 'tcp' | 'rtu',
  t?: Tally,
  canSplice = false,
): void {
  const o = s.op;
  const fcOf = { readCoils: 1, readDiscreteInputs: 2, readHolding: 3, readInput: 4 } as const;
  if ('length' in o) {
    const f = fcOf[o.fn];
    const expected = (at: number) =>
      JSON.stringify((patternModel.read(s.unitId, f, at, o.length) ?? []).map((v) => (f <= 2 ? v === 1 : v)));
    const got = JSON.stringify(value);
    const what = `unit ${s.unitId} ${o.fn} ${o.address}+${o.length}`;
    if (got === expected(o.address)) return;
    const earlier = slave.honestAddresses(s.unitId, f, o.length);
    if (transport === 'rtu' && earlier.some((at) => got === expected(at))) {
      if (t) t.stale += 1;
      return;
    }
    if (transport === 'tcp' && t && canSplice) {
      t.spliced += 1;
      t.log(`tcp bus: spliced frame taken (no checksum on TCP): ${what} got ${got}`);
      return;
    }
    throw new Broken(`${what} resolved with ${got}, the slave holds ${expected(o.address)}`);
  }
  const req =
    o.fn === 'writeCoil'
      ? { fc: 5, quantity: o.value ? 0xff00 : 0 }
      : o.fn === 'writeRegister'
        ? { fc: 6, quantity: o.value }
        : { fc: 16, quantity: o.values.length };
  if (!slave.answeredHonestly({ unitId: s.unitId, address: o.address, ...req })) {
    throw new Broken(`unit ${s.unitId} ${o.fn} at ${o.address} resolved, but the slave never echoed it correctly`);
  }
}

function checkRejected(s: Step, err: unknown): void {
  if (!(err instanceof ModbusError) || !CODES.has(err.code)) {
    throw new Broken(`unit ${s.unitId} ${s.op.fn} failed with other than a coded ModbusError: ${String(err)}`);
  }
}

/** Waits for `check` up to `ms` (a hang detector, not a performance assertion). */
async function within<T>(what: string, ms: number, check: () => T | Promise<T>): Promise<NonNullable<T>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Broken(`stuck: ${what} not within ${ms} ms`);
    await sleep(10);
  }
}

function settleWithin<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Broken(`stuck: ${what} did not settle within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

// ---- phases ----------------------------------------------------------------------------------

interface Tally {
  inputs: number;
  refused: number;
  failures: number;
  /** RTU reads that took an earlier honest answer of the same shape (see checkResolved). */
  stale: number;
  /** TCP reads that took a frame spliced from pieces (see checkResolved). */
  spliced: number;
  /** Driver runs whose inputs could splice a frame: gas-2's counts and data were not checked. */
  spliceable: number;
  /** Healthy polls after a hostile phase that timed out (forgiven twice per run, see busRun). */
  slowHealthy: number;
  log: (line: string) => void;
}

/** One property run: the steps against the bus, then the healthy unit must be polled normally. */
async function busRun(
  bus: ModbusBus,
  slave: HostileSlave,
  transport: 'tcp' | 'rtu',
  input: Step[],
  t: Tally,
): Promise<void> {
  try {
    const hostile = input.filter((s) => s.unitId === HOSTILE).map((s) => s.behaviour);
    slave.script(HOSTILE, hostile);
    const outcomes = await settleWithin(
      Promise.allSettled(input.map((s) => run(bus, s))),
      input.length * (TIMEOUT_MS + 1500) + 5000,
      'the requests',
    );
    t.inputs += input.length;
    const canSplice = maySplice(hostile);
    outcomes.forEach((o, i) => {
      const s = input[i] as Step;
      if (o.status === 'fulfilled') checkResolved(s, o.value, slave, transport, t, canSplice);
      else {
        checkRejected(s, o.reason);
        t.refused += 1;
      }
    });
    if (bus.pending !== 0) throw new Broken(`stuck: ${bus.pending} requests still queued after all settled`);
  } finally {
    slave.calm();
  }
  await sleep(20); // bytes already on their way from the slave land before the healthy check
  await within('the bus to reconnect', 10_000, () => bus.connected);
  // Three good polls of the healthy unit, each request counted at the slave. A timeout is forgiven
  // twice (a loaded machine can stall an answer past 200 ms); a bus still misframed or stuck fails
  // every poll, and any other error, or a wrong answer, fails at once.
  const before = slave.requests(HEALTHY);
  const poll: Step = {
    unitId: HEALTHY,
    op: { fn: 'readHolding', address: 0, length: 4 },
    behaviour: { kind: 'honest' },
  };
  let good = 0;
  let attempts = 0;
  while (good < 3) {
    attempts += 1;
    const words = await bus.readHolding(HEALTHY, 0, 4).catch((e: unknown) => {
      if (e instanceof ModbusError && e.code === 'MODBUS_TIMEOUT' && attempts - good <= 2) return undefined;
      throw new Broken(`healthy unit ${HEALTHY} not polled normally after the hostile phase: ${String(e)}`);
    });
    if (words === undefined) {
      t.slowHealthy += 1;
      continue;
    }
    checkResolved(poll, words, slave, 'tcp'); // strict on both transports: nothing hostile is left on the line
    good += 1;
  }
  if (slave.requests(HEALTHY) - before !== attempts) {
    throw new Broken(`the healthy unit got ${slave.requests(HEALTHY) - before} requests for ${attempts} polls`);
  }
}

async function fuzzBus(
  name: string,
  transport: ModbusTransport,
  slave: HostileSlave,
  arb: fc.Arbitrary<Step[]>,
  o: { numRuns: number; seed: number },
  t: Tally,
): Promise<void> {
  const bus = new ModbusBus({
    transport,
    timeoutMs: TIMEOUT_MS,
    backoff: { initialMs: 20, maxMs: 100 },
    connectTimeoutMs: 2000,
  });
  bus.start();
  try {
    await within(`${name}: first connection`, 10_000, () => bus.connected);
    const details = await fc.check(
      fc.asyncProperty(arb, async (input) => {
        await busRun(bus, slave, transport.type, input, t);
      }),
      budget(o),
    );
    if (details.failed) {
      t.failures += 1;
      t.log(`${name}: ${report(details)}`);
    } else if (details.interrupted) {
      t.log(`${name}: time budget reached after ${details.numRuns} runs`);
    }
  } finally {
    await bus.close();
  }
}

/** The gas-detector driver: unit 1 healthy, unit 2 scripted; hostile answers must be counted, never emitted. */
async function fuzzDriver(o: { numRuns: number; seed: number }, t: Tally): Promise<void> {
  const sim = new GasDetectorSimulator([
    { unitId: HEALTHY, lel: 5 },
    { unitId: HOSTILE, lel: 12.5 },
  ]);
  const model: SlaveModel = {
    read(unitId, f, address, quantity) {
      if (!sim.unitIds().includes(unitId)) return undefined;
      if (f === 1 && sim.map.valveCoil === address && quantity === 1) return [sim.getValve(unitId) ? 1 : 0];
      const { start, length } = sim.map;
      if (f !== 3 || address < start || address + quantity > start + length) return undefined;
      return sim.registers(unitId).slice(address - start, address - start + quantity);
    },
  };
  const honest = (unitId: number) => ({
    lel: unitId === HEALTHY ? 5 : 12.5,
    lowThreshold: 20,
    highThreshold: 50,
    status: 'normal',
  });
  const slave = await startHostileModbusTcp({ model });
  const cfg = GasDetectorConfig.parse({
    family: 'gas-detector',
    id: 'gas-fuzz',
    transport: { type: 'tcp', host: '127.0.0.1', port: slave.port },
    pollIntervalMs: 100,
    timeoutMs: TIMEOUT_MS,
    offlineAfterFailures: 2,
    backoff: { initialMs: 100, maxMs: 200 },
    devices: [
      { id: 'gas-1', unitId: HEALTHY },
      { id: 'gas-2', unitId: HOSTILE },
    ],
  });
  const ctx = startHost({ families: [gasDetector], drivers: [cfg] });
  const gas2 = (p: { deviceId: string }) => p.deviceId === 'gas-2';
  const counted = () => ctx.pollErrors.filter(gas2).length + ctx.invalids.filter(gas2).length;
  try {
    await within('both detectors online', 10_000, () => ctx.online('gas-1') && ctx.online('gas-2'));
    const behaviourLists = fc.array(misbehaviour('tcp', { timeoutMs: TIMEOUT_MS, withBadValues: true }), {
      minLength: 1,
      maxLength: 5,
    });
    const details = await fc.check(
      fc.asyncProperty(behaviourLists, async (behaviours) => {
        const logFrom = slave.log.length;
        const eventsFrom = ctx.events.length;
        const canSplice = maySplice(behaviours);
        const countedBefore = counted();
        const hostileBefore = slave.requests(HOSTILE);
        try {
          slave.script(HOSTILE, behaviours);
          // one request at a time on the bus: a request after the script means its last answer was handled
          const through = hostileBefore + behaviours.length + 1;
          await within('the driver to poll through the script', 20_000, () => slave.requests(HOSTILE) >= through);
          t.inputs += behaviours.length;
        } finally {
          slave.calm();
        }
        const received = slave.log
          .slice(logFrom)
          .filter((l) => l.unitId === HOSTILE)
          .slice(0, behaviours.length);
        const mustFail = received.filter((l) => MUST_FAIL.has(l.kind)).length;
        const got = counted() - countedBefore;
        t.refused += got;
        // a spliced frame may pass as an answer: then the counts and gas-2's data prove nothing
        if (canSplice) t.spliceable += 1;
        else if (got < mustFail) {
          throw new Broken(`${mustFail} hostile answers but only ${got} pollError / invalid reports`);
        }
        const healthyBefore = slave.requests(HEALTHY);
        await within(
          'both detectors online again and polled',
          20_000,
          () => ctx.online('gas-1') && ctx.online('gas-2') && slave.requests(HEALTHY) >= healthyBefore + 3,
        );
        for (const e of ctx.events.slice(eventsFrom)) {
          if (canSplice && e.deviceId === 'gas-2') continue;
          const want = honest(e.deviceId === 'gas-1' ? HEALTHY : HOSTILE);
          const data = e.data as Record<string, unknown>;
          for (const [k, v] of Object.entries(want)) {
            if (data[k] !== v) {
              throw new Broken(`${e.type} of ${e.deviceId}: ${k}=${String(data[k])}, the detector holds ${String(v)}`);
            }
          }
        }
        if (ctx.invalids.some((i) => i.deviceId === 'gas-1')) {
          throw new Broken('the healthy detector was reported invalid');
        }
      }),
      budget(o),
    );
    if (details.failed) {
      t.failures += 1;
      t.log(`gas-detector driver: ${report(details)}`);
    } else if (details.interrupted) {
      t.log(`gas-detector driver: time budget reached after ${details.numRuns} runs`);
    }
  } finally {
    await ctx.close();
    await slave.close();
  }
}

/** Runs and seed; no shrinking (a run can take seconds); the phase's time budget (running out is no failure). */
function budget(o: { numRuns: number; seed: number }): fc.Parameters<unknown> {
  return {
    numRuns: o.numRuns,
    seed: o.seed,
    endOnFailure: true,
    interruptAfterTimeLimit: PHASE_BUDGET_MS,
    markInterruptAsFailure: false,
  };
}

/** The failure, the seed and path to replay it, and the input. */
function report<T>(details: fc.RunDetails<T>): string {
  const e = details.errorInstance;
  const err = e instanceof Error ? e.message : String(e);
  return `${err}\n${fc.defaultReportMessage(details) ?? ''}`;
}

const socatAvailable = () => spawnSync('socat', ['-V'], { stdio: 'ignore' }).status === 0;

export const modbusFuzzTarget: FuzzTarget = {
  id: 'modbus',
  title: 'hostile Modbus slaves (TCP, RTU on a pty pair) against the Modbus bus and the gas-detector driver',
  async run({ numRuns, seed, log }): Promise<FuzzOutcome> {
    const t: Tally = { inputs: 0, refused: 0, failures: 0, stale: 0, spliced: 0, spliceable: 0, slowHealthy: 0, log };
    const unhandled = catchUnhandled(log);
    const heapBefore = process.memoryUsage().heapUsed;

    // Another bus, well behaved, polled all along: nothing on the hostile buses may disturb it.
    const ref = await startGasSimulatorTcp({ units: [{ unitId: 1, lel: 7 }] });
    const refBus = new ModbusBus({
      transport: { type: 'tcp', host: '127.0.0.1', port: ref.port },
      timeoutMs: 2000,
      backoff: { initialMs: 20, maxMs: 100 },
    });
    refBus.start();
    let refOk = 0;
    let refFailed = 0;
    let polling = true;
    const refLoop = (async () => {
      await within('reference bus connected', 10_000, () => refBus.connected);
      while (polling) {
        await refBus.readHolding(1, 0, 1).then(
          () => refOk++,
          (e: unknown) => {
            refFailed++;
            log(`reference bus: ${String(e)}`);
          },
        );
        await sleep(5);
      }
    })();

    const runs = Math.max(1, numRuns);
    const figures: Record<string, number | string> = {};
    const phase = async (name: string, fn: () => Promise<void>) => {
      const refBefore = ref.sim.requests(1);
      const failuresBefore = t.failures;
      const inputsBefore = t.inputs;
      try {
        await fn();
      } catch (err) {
        t.failures += 1;
        log(`${name}: ${String(err)}`);
      }
      figures[`${name} inputs`] = t.inputs - inputsBefore;
      if (ref.sim.requests(1) === refBefore) {
        t.failures += 1;
        log(`${name}: the well-behaved bus was not polled during the phase`);
      }
      log(`${name}: ${t.inputs - inputsBefore} inputs, ${t.failures - failuresBefore} failures`);
    };
    try {
      const tcpSlave = await startHostileModbusTcp();
      try {
        const transport: ModbusTransport = { type: 'tcp', host: '127.0.0.1', port: tcpSlave.port };
        await phase('tcp bus', () =>
          fuzzBus('tcp bus', transport, tcpSlave, steps('tcp', TIMEOUT_MS), { numRuns: runs, seed }, t),
        );
        figures['tcp connections'] = tcpSlave.connections;
      } finally {
        await tcpSlave.close();
      }

      if (socatAvailable()) {
        const pty = await openPtyPair();
        try {
          const rtuSlave = await startHostileModbusRtu({ path: pty.a, baudRate: 115_200 });
          const transport: ModbusTransport = {
            type: 'rtu',
            path: pty.b,
            baudRate: 115_200,
            parity: 'none',
            dataBits: 8,
            stopBits: 1,
          };
          await phase('rtu bus', () =>
            fuzzBus('rtu bus', transport, rtuSlave, steps('rtu', TIMEOUT_MS), { numRuns: runs, seed: seed + 1 }, t),
          ).finally(() => rtuSlave.close());
        } finally {
          await pty.close();
        }
      } else {
        log('rtu bus: skipped, socat is not installed');
        figures['rtu bus'] = 'skipped (no socat)';
      }

      const driverRuns = Math.max(1, Math.ceil(runs / 2));
      await phase('gas-detector driver', () => fuzzDriver({ numRuns: driverRuns, seed: seed + 2 }, t));
    } finally {
      polling = false;
      await refLoop.catch((e: unknown) => {
        t.failures += 1;
        log(`reference bus: ${String(e)}`);
      });
      await refBus.close();
      await ref.close();
      unhandled.stop();
    }
    t.failures += unhandled.count + refFailed;
    figures['rtu stale answers taken'] = t.stale;
    figures['tcp spliced frames taken'] = t.spliced;
    figures['driver runs not checked for gas-2 (could splice)'] = t.spliceable;
    figures['healthy polls timed out'] = t.slowHealthy;
    figures['reference bus polls'] = refOk;
    figures['reference bus failures'] = refFailed;
    figures['unhandled rejections'] = unhandled.count;
    const heapGrowthMB = Math.round((process.memoryUsage().heapUsed - heapBefore) / 1e5) / 10;
    figures['heap growth MB'] = heapGrowthMB;
    if (heapGrowthMB > HEAP_LIMIT_MB) {
      t.failures += 1;
      log(`heap grew by ${heapGrowthMB} MB (limit ${HEAP_LIMIT_MB})`);
    }
    return { inputs: t.inputs, refused: t.refused, failures: t.failures, figures };
  },
};
