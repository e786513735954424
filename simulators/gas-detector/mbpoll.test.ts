/**
 * The simulator as seen by an independent Modbus master: mbpoll (Debian), over Modbus TCP and
 * over Modbus RTU through a socat pty pair. mbpoll references are 1-based: -r 1 is address 0.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPtyPair, type PtyPair } from '../common/pty-pair.js';
import {
  type RunningGasSimulatorRtu,
  type RunningGasSimulatorTcp,
  startGasSimulatorRtu,
  startGasSimulatorTcp,
} from './index.js';

const run = promisify(execFile);

/** Runs mbpoll once (async: the simulator lives on this event loop); returns exit code and the values it printed. */
async function mbpoll(args: string[]): Promise<{ code: number; values: number[]; output: string }> {
  const all = ['-1', '-o', '0.5', ...args];
  const r = await run('mbpoll', all, { timeout: 10_000 }).then(
    (ok) => ({ code: 0, stdout: ok.stdout, stderr: ok.stderr }),
    (e: { code?: number; stdout?: string; stderr?: string }) => ({
      code: e.code ?? -1,
      stdout: e.stdout ?? '',
      stderr: e.stderr ?? '',
    }),
  );
  // value lines look like "[1]: \t123"
  const values = [...r.stdout.matchAll(/^\[(\d+)\]:\s+(-?\d+)/gm)].map((m) => Number(m[2]));
  return { code: r.code, values, output: `${r.stdout}${r.stderr}` };
}

describe('gas simulator polled by mbpoll over Modbus TCP', () => {
  let s: RunningGasSimulatorTcp;
  beforeAll(async () => {
    s = await startGasSimulatorTcp({ units: [{ unitId: 1, lel: 12.3 }, { unitId: 2, lel: 55 }, 3] });
  });
  afterAll(() => s?.close());
  const tcp = (unit: number, ...args: string[]) => [
    '-m',
    'tcp',
    '-p',
    String(s.port),
    '-a',
    String(unit),
    ...args,
    '127.0.0.1',
  ];

  it('reads the holding registers of the documented map', async () => {
    const r1 = await mbpoll(tcp(1, '-t', '4', '-r', '1', '-c', '5'));
    expect(r1.code, r1.output).toBe(0);
    expect(r1.values).toEqual([123, 0, 200, 500, 0]);
    expect(r1.values).toEqual(s.sim.registers(1));

    s.sim.setFault(3, 17);
    const r2 = await mbpoll(tcp(2, '-t', '4', '-r', '1', '-c', '5'));
    const r3 = await mbpoll(tcp(3, '-t', '4', '-r', '1', '-c', '5'));
    expect(r2.values).toEqual([550, 2, 200, 500, 0]); // level >= high threshold -> high alarm
    expect(r3.values).toEqual([0, 3, 200, 500, 17]); // fault overrides
  });

  it('writes and reads the valve relay coil', async () => {
    const w = await mbpoll([...tcp(1, '-t', '0', '-r', '1'), '1']);
    expect(w.code, w.output).toBe(0);
    expect(s.sim.getValve(1)).toBe(true);
    const r = await mbpoll(tcp(1, '-t', '0', '-r', '1', '-c', '1'));
    expect(r.values).toEqual([1]);
  });

  it('answers an address outside the map with exception 2 and a dead unit not at all', async () => {
    const bad = await mbpoll(tcp(1, '-t', '4', '-r', '20', '-c', '2'));
    expect(bad.output).toMatch(/Illegal data address/i);
    s.sim.setResponding(3, false);
    const dead = await mbpoll(tcp(3, '-t', '4', '-r', '1', '-c', '5'));
    expect(dead.code).not.toBe(0);
    expect(dead.output).toMatch(/timed out/i);
    const unknown = await mbpoll(tcp(42, '-t', '4', '-r', '1', '-c', '5'));
    expect(unknown.output).toMatch(/timed out/i);
  });
});

describe('gas simulator polled by mbpoll over Modbus RTU (socat pty pair)', () => {
  let pty: PtyPair;
  let s: RunningGasSimulatorRtu;
  beforeAll(async () => {
    pty = await openPtyPair();
    s = await startGasSimulatorRtu({
      path: pty.a,
      baudRate: 9600,
      units: [{ unitId: 7, lel: 33.3, lowThreshold: 25 }],
    });
  });
  afterAll(async () => {
    await s?.close();
    await pty?.close();
  });

  it('reads the registers and writes the valve coil', async () => {
    const rtu = (...args: string[]) => [
      '-m',
      'rtu',
      '-b',
      '9600',
      '-d',
      '8',
      '-s',
      '1',
      '-P',
      'none',
      '-a',
      '7',
      ...args,
      pty.b,
    ];
    const r = await mbpoll(rtu('-t', '4', '-r', '1', '-c', '5'));
    expect(r.code, r.output).toBe(0);
    expect(r.values).toEqual([333, 1, 250, 500, 0]);
    const w = await mbpoll([...rtu('-t', '0', '-r', '1'), '1']);
    expect(w.code, w.output).toBe(0);
    expect(s.sim.getValve(7)).toBe(true);
  });
});
