/**
 * The driver and an independent Modbus master (mbpoll, Debian) read the same simulated modules
 * and must agree: discrete inputs (FC2), bit-packed input registers (FC4) and coils (FC1), over
 * Modbus TCP; and the driver over Modbus RTU on a socat pty pair. mbpoll references are
 * 1-based: -r 1 is address 0.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostHarness } from '../../gateway/devices/testing/host-harness.js';
import { waitFor } from '../../gateway/testing/wait-for.js';
import { openPtyPair, type PtyPair } from '../../simulators/common/pty-pair.js';
import {
  type RunningIoSimulatorRtu,
  type RunningIoSimulatorTcp,
  startIoSimulatorRtu,
  startIoSimulatorTcp,
} from '../../simulators/io-module/index.js';
import { MODELS } from './index.js';
import { ioConfig, startIo } from './testing/harness.js';

const run = promisify(execFile);

/** Runs mbpoll once (async: the simulator lives on this event loop); returns the values it printed. */
async function mbpoll(port: number, unit: number, args: string[], write: string[] = []): Promise<number[]> {
  const all = ['-1', '-o', '0.5', '-m', 'tcp', '-p', String(port), '-a', String(unit), ...args, '127.0.0.1', ...write];
  const { stdout } = await run('mbpoll', all, { timeout: 10_000 });
  return [...stdout.matchAll(/^\[(\d+)\]:\s+(-?\d+)/gm)].map((m) => Number(m[2]));
}

const eight = [1, 2, 3, 4, 5, 6, 7, 8];

describe('io-module driver and mbpoll agree (Modbus TCP)', () => {
  let s: RunningIoSimulatorTcp;
  let host: HostHarness;
  /** What the driver last reported for each input of a module, input 1 first, as 0/1. */
  const driverInputs = (prefix: string) =>
    eight.map((n) => (host.eventsOf(`${prefix}-${n}`, 'input.changed').at(-1)?.data.value ? 1 : 0));
  const driverOutputs = () => eight.map((n) => (host.eventsOf(`do-${n}`, 'output.state').at(-1)?.data.on ? 1 : 0));

  beforeAll(async () => {
    s = await startIoSimulatorTcp({ modules: [1, { unitId: 2, model: MODELS['generic-8di8do-register'] }] });
    host = startIo(
      ioConfig(s.port, {
        modules: [
          { id: 'io-1', unitId: 1 },
          { id: 'io-2', unitId: 2, model: 'generic-8di8do-register' },
        ],
        inputs: [
          ...eight.map((n) => ({ id: `di-${n}`, module: 'io-1', input: n, role: 'input' })),
          ...eight.map((n) => ({ id: `ri-${n}`, module: 'io-2', input: n, role: 'input' })),
        ],
        outputs: eight.map((n) => ({ id: `do-${n}`, module: 'io-1', output: n, role: 'relay' })),
      }),
    );
    await waitFor('first reads', () => host.eventsOf('ri-8')[0] && host.eventsOf('do-8')[0]);
  });
  afterAll(async () => {
    await host?.close();
    await s?.close();
  });

  it('discrete inputs (FC2)', async () => {
    const pattern = [1, 0, 1, 1, 0, 0, 0, 1];
    pattern.forEach((v, i) => s.sim.setInput(1, i + 1, v === 1));
    await waitFor('driver reports the pattern', () => driverInputs('di').join() === pattern.join());
    expect(await mbpoll(s.port, 1, ['-t', '1', '-r', '1', '-c', '8'])).toEqual(driverInputs('di'));
  });

  it('inputs bit-packed in input register 30001 (FC4)', async () => {
    const pattern = [0, 1, 0, 0, 0, 0, 1, 1];
    pattern.forEach((v, i) => s.sim.setInput(2, i + 1, v === 1));
    await waitFor('driver reports the pattern', () => driverInputs('ri').join() === pattern.join());
    const [word] = await mbpoll(s.port, 2, ['-t', '3', '-r', '1', '-c', '1']);
    expect(eight.map((n) => ((word ?? 0) >> (n - 1)) & 1)).toEqual(driverInputs('ri'));
    expect(word).toBe(0b1100_0010);
  });

  it('coils (FC1): what the driver switched, mbpoll reads; what mbpoll switched, the driver reports', async () => {
    expect(await host.execute('do-3', 'output.on', {})).toEqual({ ok: true, data: { on: true } });
    expect(await host.execute('do-6', 'output.on', {})).toEqual({ ok: true, data: { on: true } });
    expect(await mbpoll(s.port, 1, ['-t', '0', '-r', '1', '-c', '8'])).toEqual([0, 0, 1, 0, 0, 1, 0, 0]);
    await mbpoll(s.port, 1, ['-t', '0', '-r', '5'], ['1']); // FC5 from the other master
    await waitFor('do-5 on', () => host.eventsOf('do-5', 'output.state').at(-1)?.data.on === true);
    expect(await mbpoll(s.port, 1, ['-t', '0', '-r', '1', '-c', '8'])).toEqual(driverOutputs());
  });
});

describe('io-module driver over Modbus RTU (simulator on a pty pair)', () => {
  let pty: PtyPair;
  let s: RunningIoSimulatorRtu;
  let host: HostHarness;
  beforeAll(async () => {
    pty = await openPtyPair();
    s = await startIoSimulatorRtu({ path: pty.a, baudRate: 9600, modules: [3, 4] });
    s.sim.setResponding(4, false); // a dead module on the line
    host = startIo(
      ioConfig({ type: 'rtu', path: pty.b, baudRate: 9600 }, {
        modules: [
          { id: 'io-3', unitId: 3 },
          { id: 'io-4', unitId: 4 },
        ],
        inputs: [
          { id: 'sos-3', module: 'io-3', input: 2, role: 'button' },
          { id: 'sos-4', module: 'io-4', input: 2, role: 'button' },
        ],
        outputs: [{ id: 'siren-3', module: 'io-3', output: 7, role: 'siren' }],
      }),
    );
  });
  afterAll(async () => {
    await host?.close();
    await s?.close();
    await pty?.close();
  });

  it('reports a press, switches a siren, and the dead module offline', async () => {
    await waitFor('sos-4 offline', () => host.online('sos-4') === false);
    s.sim.press(3, 2, 500);
    await waitFor('button.pressed', () => host.eventsOf('sos-3', 'button.pressed')[0]);
    expect(await host.execute('siren-3', 'siren.on', {})).toEqual({ ok: true, data: { on: true } });
    expect(s.sim.outputs(3)).toEqual([false, false, false, false, false, false, true, false]);
    expect(host.online('sos-3')).toBe(true);
  });
});
