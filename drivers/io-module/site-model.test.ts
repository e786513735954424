/**
 * A board the family does not ship with, described in the site file (`models:` of its driver
 * instance): 16 inputs at discrete inputs 0x0000-0x000F and 8 relay outputs on coils
 * 0x0010-0x0017. The simulator serves that model; the driver reads it, mbpoll (an independent
 * master) agrees on the coils; `gateway check-config` accepts the file and refuses broken models,
 * naming each problem's path and line.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { HostHarness } from '../../gateway/devices/testing/host-harness.js';
import { waitFor } from '../../gateway/testing/wait-for.js';
import { type RunningIoSimulatorTcp, startIoSimulatorTcp } from '../../simulators/io-module/index.js';
import { IoModuleConfig } from './index.js';
import { ioConfig, startIo } from './testing/harness.js';

const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
const MODEL = `
      site-16di8do:
        description: 16 inputs at discrete inputs 0x0000-0x000F, 8 relays on coils 0x0010-0x0017
        blocks:
          inputs: { table: discrete, start: 0x0000, length: 16 }
          outputs: { table: coils, start: 0x0010, length: 8 }
        fields:
${range(16).map((n) => `          di${n}: { block: inputs, offset: ${n - 1}, type: bool }`).join('\n')}
${range(8).map((n) => `          do${n}: { block: outputs, offset: ${n - 1}, type: bool }`).join('\n')}
        coils:
${range(8).map((n) => `          do${n}: { address: ${0x10 + n - 1} }`).join('\n')}`;

const site = (port: number, models: string, modules = '[{ id: io-s1, unitId: 5, model: site-16di8do }]') => `
site: { id: s1 }
gateway: { id: g1 }
drivers:
  - family: io-module
    id: io-line-west
    transport: { type: tcp, host: 127.0.0.1, port: ${port} }
    models:${models}
    modules: ${modules}
    inputs:
      - { id: sos-16, module: io-s1, input: 16, role: button }
      - { id: door-9, module: io-s1, input: 9, role: contact }
    outputs:
      - { id: siren-8, module: io-s1, output: 8, role: siren }
`;

function writeTemp(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'io-model-')), 'site.yaml');
  writeFileSync(file, text);
  return file;
}

const checkConfig = (file: string) =>
  spawnSync(process.execPath, ['--import', 'tsx', 'gateway/cli.ts', 'check-config', file], { encoding: 'utf8' });

const run = promisify(execFile);

let sim: RunningIoSimulatorTcp;
let host: HostHarness;
let yaml: string;

beforeAll(async () => {
  const model = IoModuleConfig.parse((parse(site(1502, MODEL)) as { drivers: unknown[] }).drivers[0]).models['site-16di8do'];
  sim = await startIoSimulatorTcp({ modules: [{ unitId: 5, model }] });
  yaml = site(sim.port, MODEL);
  const driver = (parse(yaml) as { drivers: Record<string, unknown>[] }).drivers[0]!;
  host = startIo(ioConfig(sim.port, { models: driver.models, modules: driver.modules, inputs: driver.inputs, outputs: driver.outputs }));
  await waitFor('first read', () => host.eventsOf('siren-8', 'output.state')[0]);
});

afterAll(async () => {
  await host?.close();
  await sim?.close();
});

describe('a site-defined I/O board (16 DI at 0x0000, 8 coils at 0x0010) against its simulator', () => {
  it('gateway check-config accepts the site file', () => {
    const r = checkConfig(writeTemp(yaml));
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('reads input 16 and input 9 where the model puts them', async () => {
    await waitFor('door-9 first state', () => host.eventsOf('door-9', 'contact.closed')[0]);
    sim.sim.press(5, 16, 500);
    const pressed = await waitFor('sos-16 pressed', () => host.eventsOf('sos-16', 'button.pressed')[0]);
    expect(pressed.data).toEqual({ module: 'io-s1', input: 16 });
    sim.sim.setInput(5, 9, true);
    await waitFor('door-9 open', () => host.eventsOf('door-9', 'contact.open')[0]);
  });

  it('switches output 8 on coil 0x0017, as mbpoll reads it (reference 00024)', async () => {
    expect(await host.execute('siren-8', 'siren.on', {})).toEqual({ ok: true, data: { on: true } });
    expect(sim.sim.outputs(5)).toEqual([false, false, false, false, false, false, false, true]);
    const args = ['-1', '-o', '0.5', '-m', 'tcp', '-p', String(sim.port), '-a', '5', '-t', '0', '-r', '17', '-c', '8', '127.0.0.1'];
    const { stdout } = await run('mbpoll', args, { timeout: 10_000 });
    expect([...stdout.matchAll(/^\[(\d+)\]:\s+(\d+)/gm)].map((m) => [Number(m[1]), Number(m[2])])).toEqual(
      range(8).map((n) => [16 + n, n === 8 ? 1 : 0]),
    );
  });

  it('check-config refuses broken models, each with its path and line', () => {
    const broken = `
      gap:
        blocks: { inputs: { table: discrete, start: 0, length: 4 } }
        fields:
          di1: { block: inputs, offset: 0, type: bool }
          di3: { block: inputs, offset: 2, type: bool }
      nobit:
        blocks: { inputs: { table: input, start: 0, length: 1 } }
        fields:
          di1: { block: inputs, offset: 0, type: bool }
      noreadback:
        blocks: { inputs: { table: discrete, start: 0, length: 1 } }
        fields:
          di1: { block: inputs, offset: 0, type: bool }
        coils:
          do1: { address: 16 }`;
    const text = site(1502, broken, '[{ id: io-s1, unitId: 5, model: gap }, { id: io-s2, unitId: 6, model: nosuch }]');
    const r = checkConfig(writeTemp(text));
    expect(r.status).toBe(2);
    const lines = text.split('\n');
    const line = (needle: string) => lines.findIndex((l) => l.includes(needle)) + 1;
    const m = 'drivers[0].models';
    expect(r.stderr).toContain(`${m}.gap.fields (line ${line('di1: { block: inputs, offset: 0, type: bool }')}): inputs are numbered from 1 without gaps, as on the board: input 2 (field di2) is missing`);
    expect(r.stderr).toMatch(/models\.nobit\.fields\.di1\.bit \(line \d+\): field di1: a bool in the input register block inputs needs bit: 0\.\.15/);
    expect(r.stderr).toMatch(/models\.noreadback\.fields\.do1 \(line \d+\): output 1 needs a field do1 in a coils block reading coil address 16/);
    expect(r.stderr).toMatch(/modules\[1\]\.model \(line \d+\): unknown model "nosuch"; known models: generic-8di8do, generic-8di8do-register, generic-16di, gap, nobit, noreadback/);
  });
});
