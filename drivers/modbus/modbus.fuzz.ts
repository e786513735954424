/**
 * Fuzz target: hostile Modbus slaves against the Modbus bus (drivers/modbus/modbus-bus.ts) and the
 * gas-detector driver on top of it.
 *
 * A hostile slave (simulators/common/hostile-modbus-slave.ts) plays a healthy unit 1 and a hostile
 * unit 2 on one bus, over TCP and over RTU on a socat pty pair; fast-check (seeded) picks what unit 2
 * does with each request (testing/modbus-fuzz-inputs.ts): wrong function code, byte count, length, unit
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
import { patternModel } from '../../simulators/common/modbus-frames.js';
import { openPtyPair } from '../../simulators/common/pty-pair.js';
import { startGasSimulatorTcp } from '../../simulators/gas-detector/index.js';
import { ModbusBus } from './modbus-bus.js';
import { ModbusError, type ModbusErrorCode } from './modbus-errors.js';
import type { ModbusTransport } from './modbus-transport.js';
import {
  Broken,
  budget,
  report,
  settleWithin,
  type Tally,
  TIMEOUT_MS,
  within,
} from './testing/fuzz-kit.js';
import { fuzzDriver } from './testing/gas-driver-fuzz.js';
import { HEALTHY, HOSTILE, maySplice, type Step, steps } from './testing/modbus-fuzz-inputs.js';

/** Heap growth over a whole run that counts as a failure (a few MB is normal). */
const HEAP_LIMIT_MB = 100;
const CODES = new Set<ModbusErrorCode>([
  'MODBUS_NOT_CONNECTED',
  'MODBUS_CONNECTION_LOST',
  'MODBUS_TIMEOUT',
  'MODBUS_EXCEPTION',
  'MODBUS_BAD_RESPONSE',
]);

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

// ---- phases ----------------------------------------------------------------------------------

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
