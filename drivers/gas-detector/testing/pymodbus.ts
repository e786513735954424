/**
 * The independent Modbus TCP slave of the gas-detector tests: pymodbus 3.0 (Debian
 * python3-pymodbus) on loopback, run by testing/pymodbus-slave.py. Not our simulator, not our
 * Modbus code.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../../gateway/core/free-port.js';
import { waitFor } from '../../../gateway/testing/wait-for.js';

const SCRIPT = fileURLToPath(new URL('./pymodbus-slave.py', import.meta.url));

/** A unit's holding registers from address 0, or its tables by name, each from address 0. */
export type SlaveUnit = number[] | { hr?: number[]; ir?: number[]; co?: boolean[]; di?: boolean[] };

export interface Slave {
  port: number;
  /** Writes holding registers of a unit; resolves when pymodbus has them. */
  set(unit: number, address: number, ...values: number[]): Promise<void>;
  /** Writes input registers of a unit. */
  setInput(unit: number, address: number, ...values: number[]): Promise<void>;
  close(): Promise<void>;
}

export async function startSlave(units: Record<number, SlaveUnit>): Promise<Slave> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const proc = spawn('/usr/bin/python3', [SCRIPT, String(port), JSON.stringify(units)], { stdio: 'pipe' });
    const lines: string[] = [];
    let stderr = '';
    proc.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    proc.stdout.setEncoding('utf8').on('data', (d: string) => lines.push(...d.split('\n').filter(Boolean)));
    const ready = await Promise.race([
      waitFor('pymodbus READY', () => lines.includes(`READY ${port}`), { timeoutMs: 15_000 }).then(
        () => true,
      ),
      once(proc, 'exit').then(() => false),
    ]);
    if (ready) return slave(proc, port, lines);
    if (attempt >= 3) throw new Error(`pymodbus slave did not start: ${stderr}`);
  }
}

function slave(proc: ChildProcessWithoutNullStreams, port: number, lines: string[]): Slave {
  const command = async (cmd: string, unit: number, address: number, values: number[]) => {
    const oks = lines.filter((l) => l === 'ok').length;
    proc.stdin.write(`${cmd} ${unit} ${address} ${values.join(' ')}\n`);
    await waitFor('pymodbus ok', () => lines.filter((l) => l === 'ok').length > oks);
  };
  return {
    port,
    set: (unit, address, ...values) => command('set', unit, address, values),
    setInput: (unit, address, ...values) => command('set-input', unit, address, values),
    async close() {
      if (proc.exitCode !== null || proc.signalCode !== null || !proc.pid) return;
      const exited = once(proc, 'exit');
      proc.stdin.end(); // the script exits when stdin closes
      const kill = setTimeout(() => proc.pid && process.kill(proc.pid, 'SIGKILL'), 5000);
      await exited;
      clearTimeout(kill);
    },
  };
}
