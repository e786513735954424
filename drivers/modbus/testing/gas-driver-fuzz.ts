/**
 * The driver phase of the Modbus fuzz target (drivers/modbus/modbus.fuzz.ts): the gas-detector
 * family on a bus with a hostile unit, through the device host.
 */
import fc from 'fast-check';
import { startHost } from '../../../gateway/devices/testing/host-harness.js';
import { startHostileModbusTcp } from '../../../simulators/common/hostile-modbus-slave.js';
import type { SlaveModel } from '../../../simulators/common/modbus-frames.js';
import { GasDetectorSimulator } from '../../../simulators/gas-detector/index.js';
import { GasDetectorConfig, gasDetector } from '../../gas-detector/index.js';
import { Broken, budget, report, type Tally, TIMEOUT_MS, within } from './fuzz-kit.js';
import { HEALTHY, HOSTILE, MUST_FAIL, maySplice, misbehaviour } from './modbus-fuzz-inputs.js';

/** The gas-detector driver: unit 1 healthy, unit 2 scripted; hostile answers must be counted, never emitted. */
export async function fuzzDriver(o: { numRuns: number; seed: number }, t: Tally): Promise<void> {
  const sim = new GasDetectorSimulator([
    { unitId: HEALTHY, lel: 5 },
    { unitId: HOSTILE, lel: 12.5 },
  ]);
  const model: SlaveModel = {
    read(unitId, f, address, quantity) {
      if (!sim.unitIds().includes(unitId)) return undefined;
      const table = ({ 1: 'coils', 2: 'discrete', 3: 'holding', 4: 'input' } as const)[f];
      try {
        return sim.read(table, unitId, address, quantity).map(Number);
      } catch {
        return undefined; // outside the model: no answer
      }
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
