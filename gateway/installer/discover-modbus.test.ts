/**
 * `gateway discover modbus` against the families' simulators: over Modbus TCP (one bus per
 * simulator) and over Modbus RTU on a socat pty pair; what it prints parses as site-file entries.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { familyDefinition } from '../../drivers/index.js';
import { EBIKE_MODELS } from '../../drivers/ebike-pile/index.js';
import { GAS_MODELS } from '../../drivers/gas-detector/index.js';
import { MODELS as IO_MODELS } from '../../drivers/io-module/index.js';
import { parseUnits, scanModbus } from '../../drivers/modbus/discover.js';
import { LIGHT_MODELS } from '../../drivers/streetlight/index.js';
import { openPtyPair, type PtyPair } from '../../simulators/common/pty-pair.js';
import { startEbikeSimulatorTcp } from '../../simulators/ebike-pile/serve-tcp.js';
import { startGasSimulatorRtu, startGasSimulatorTcp } from '../../simulators/gas-detector/index.js';
import { startIoSimulatorTcp } from '../../simulators/io-module/serve-tcp.js';
import { startStreetlightSimulatorTcp } from '../../simulators/streetlight/serve-tcp.js';
import { REPO_ROOT } from '../../scripts/structure.js';
import { modbusCandidates, modbusDiscover } from './discover-modbus.js';

const run = promisify(execFile);
const CLI = join(REPO_ROOT, 'gateway/cli.ts');
const TSX = join(REPO_ROOT, 'node_modules/.bin/tsx');

type Closable = { close(): Promise<void>; port: number };
const sims: Closable[] = [];
afterAll(async () => {
  for (const s of sims) await s.close();
});

/** Scans a TCP simulator's units 1..8 and returns unit → first guess. */
async function guesses(port: number): Promise<Record<number, string>> {
  const found = await scanModbus({ transport: { type: 'tcp', host: '127.0.0.1', port }, units: parseUnits('1-8'), timeoutMs: 300, candidates: modbusCandidates() });
  return Object.fromEntries(found.map((u) => [u.unitId, u.fits[0] ? `${u.fits[0].family} ${u.fits[0].model}` : 'unknown']));
}

describe('gateway discover modbus over TCP', () => {
  let gas: Closable;
  beforeAll(async () => {
    gas = await startGasSimulatorTcp({ units: [{ unitId: 1, lel: 3 }, { unitId: 3, model: GAS_MODELS['generic-lel-novalve'] }] });
    sims.push(gas);
  });

  it('finds the answering gas detectors (a silent unit id is absent) and guesses their model', async () => {
    const g = await guesses(gas.port);
    expect(Object.keys(g).map(Number)).toEqual([1, 3]);
    expect(g[1]).toMatch(/^gas-detector generic-lel/);
    expect(g[3]).toMatch(/^gas-detector generic-lel/);
  });

  it('tells the families apart: DI/DO boards, e-bike piles, streetlight controllers', async () => {
    const io = await startIoSimulatorTcp({ modules: [{ unitId: 2, model: IO_MODELS['generic-16di'] }, { unitId: 3, model: IO_MODELS['generic-8di8do'] }, { unitId: 4, model: IO_MODELS['generic-8di8do-register'] }] });
    const ebike = await startEbikeSimulatorTcp({ units: [{ unitId: 5, model: EBIKE_MODELS['generic-10port'] }] });
    const light = await startStreetlightSimulatorTcp({ units: [{ unitId: 6, model: LIGHT_MODELS['single-lamp'] }, { unitId: 7, model: LIGHT_MODELS['group-4'] }] });
    sims.push(io, ebike, light);
    expect(await guesses(io.port)).toEqual({ 2: 'io-module generic-16di', 3: 'io-module generic-8di8do', 4: 'io-module generic-8di8do-register' });
    expect(await guesses(ebike.port)).toEqual({ 5: 'ebike-pile generic-10port' });
    expect(await guesses(light.port)).toEqual({ 6: 'streetlight single-lamp', 7: 'streetlight group-4' });
  });

  it('the CLI prints entries that parse as driver entries of their family', async () => {
    const { stdout } = await run(TSX, [CLI, 'discover', 'modbus', '--tcp', `127.0.0.1:${gas.port}`, '--units', '1-4', '--timeout', '300'], { cwd: REPO_ROOT });
    expect(stdout).toContain('2 of 4 unit ids answered');
    expect(stdout).toMatch(/unit +1: gas-detector generic-lel/);
    const { drivers } = parse(stdout.slice(stdout.indexOf('drivers:'))) as { drivers: unknown[] };
    expect(drivers).toHaveLength(1);
    const entry = familyDefinition('gas-detector')!.configSchema.parse(drivers[0]) as { devices: { unitId: number }[] };
    expect(entry.devices.map((d) => d.unitId)).toEqual([1, 3]);
  });

  it('bad usage exits 2 saying how to fix it', async () => {
    const err = await run(TSX, [CLI, 'discover', 'modbus', '--units', '0-300', '--tcp', '127.0.0.1:1'], { cwd: REPO_ROOT }).catch((e: { code: number; stderr: string }) => e);
    expect(err).toMatchObject({ code: 2 });
    expect((err as { stderr: string }).stderr).toContain('unit ids 1..247');
    const none = await run(TSX, [CLI, 'discover', 'modbus'], { cwd: REPO_ROOT }).catch((e: { code: number; stderr: string }) => e);
    expect((none as { stderr: string }).stderr).toContain('--port /dev/ttyUSB0');
  });
});

describe('gateway discover modbus over RTU (simulator on a pty pair)', () => {
  let pty: PtyPair;
  let close: () => Promise<void>;
  beforeAll(async () => {
    pty = await openPtyPair();
    const sim = await startGasSimulatorRtu({ path: pty.a, baudRate: 9600, units: [4, 9] });
    close = () => sim.close();
  });
  afterAll(async () => {
    await close?.();
    await pty?.close();
  });

  it('finds units 4 and 9 among 1-10 and prints their rtu entry', async () => {
    const out = await modbusDiscover.run(['--port', pty.b, '--baud', '9600', '--units', '1-10', '--timeout', '300']);
    expect(out).toContain(`rtu ${pty.b} 9600 baud, parity none: 2 of 10 unit ids answered`);
    const { drivers } = parse(out.slice(out.indexOf('drivers:'))) as { drivers: { transport: unknown; devices: { unitId: number }[] }[] };
    expect(drivers[0]!.transport).toMatchObject({ type: 'rtu', path: pty.b, baudRate: 9600 });
    expect(drivers[0]!.devices.map((d) => d.unitId)).toEqual([4, 9]);
  });
});
