/**
 * A gas detector the family does not ship with, described in the site file (`models:` of its
 * driver instance): float32 level with the low word first, status bits, thresholds as 32-bit
 * values in another table at other addresses, the valve on another coil. pymodbus (an
 * independent Modbus slave) serves it; `gateway check-config` accepts the file, and refuses a
 * broken model naming its path and line.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { HostHarness } from '../../gateway/devices/testing/host-harness.js';
import { waitFor } from '../../gateway/testing/wait-for.js';
import { GasDetectorConfig } from './index.js';
import { startGas } from './testing/harness.js';
import { type Slave, startSlave } from './testing/pymodbus.js';

const MODEL = `
      kitchen-gd:
        description: float32 level (low word first), status bits, thresholds in 0.01 %LEL
        blocks:
          live: { table: input, start: 10, length: 4 }
          setup: { table: holding, start: 40, length: 4 }
        fields:
          lel: { block: live, offset: 0, type: float32, wordOrder: little, unit: "%LEL" }
          status: { block: live, offset: 2, type: bits, bits: { fault: 0, high: 2, low: 1 }, none: normal }
          faultCode: { block: live, offset: 3 }
          lowThreshold: { block: setup, offset: 0, type: uint32, scale: 0.01, unit: "%LEL" }
          highThreshold: { block: setup, offset: 2, type: uint32, scale: 0.01, unit: "%LEL" }
        coils:
          valve: { address: 3 }`;

const site = (port: number, models: string, devices = '[{ id: gas-k1, unitId: 1, model: kitchen-gd }]') => `
site: { id: s1 }
gateway: { id: g1 }
drivers:
  - family: gas-detector
    id: gas-line-east
    transport: { type: tcp, host: 127.0.0.1, port: ${port} }
    pollIntervalMs: 100
    timeoutMs: 300
    backoff: { initialMs: 300, maxMs: 1000 }
    models:${models}
    devices: ${devices}
`;

function writeTemp(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'gas-model-')), 'site.yaml');
  writeFileSync(file, text);
  return file;
}

const checkConfig = (file: string) =>
  spawnSync(process.execPath, ['--import', 'tsx', 'gateway/cli.ts', 'check-config', file], { encoding: 'utf8' });

/** IEEE 754 single, low word first (the model's word order), encoded here independently of the driver. */
function f32Little(v: number): number[] {
  const b = Buffer.alloc(4);
  b.writeFloatBE(v);
  return [b.readUInt16BE(2), b.readUInt16BE(0)];
}
/** Input registers 10..13: level, status bits, fault code. */
const live = (lel: number[], status: number, faultCode = 0) => [...new Array<number>(10).fill(0), ...lel, status, faultCode];
/** Holding registers 40..43: thresholds in 0.01 %LEL, uint32 high word first. */
const SETUP = [...new Array<number>(40).fill(0), 0, 2000, 0, 5000];

let pymodbus: Slave;
let host: HostHarness;
let yaml: string;

beforeAll(async () => {
  pymodbus = await startSlave({
    1: { ir: live(f32Little(23.5), 0b010), hr: SETUP }, // low alarm
    2: { ir: live(f32Little(0), 0b101, 7), hr: SETUP }, // fault and high bits: fault first
    3: { ir: live([0x0000, 0x7fc0], 0), hr: SETUP }, // level NaN
  });
  yaml = site(
    pymodbus.port,
    MODEL,
    `
      - { id: gas-k1, unitId: 1, model: kitchen-gd }
      - { id: gas-k2, unitId: 2, model: kitchen-gd }
      - { id: gas-k3, unitId: 3, model: kitchen-gd }`,
  );
  const driver = (parse(yaml) as { drivers: unknown[] }).drivers[0];
  host = await startGas(GasDetectorConfig.parse(driver));
});

afterAll(async () => {
  await host?.close();
  await pymodbus?.close();
});

describe('a site-defined gas model against pymodbus 3.0', () => {
  it('gateway check-config accepts the site file', () => {
    const r = checkConfig(writeTemp(yaml));
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('reads the level, thresholds and status bits the model describes', async () => {
    const low = await waitFor('gas-k1 low alarm', () => host.eventsOf('gas-k1', 'gas.alarm.low')[0]);
    expect(low.data).toEqual({ lel: 23.5, lowThreshold: 20, highThreshold: 50, status: 'low' });
    const fault = await waitFor('gas-k2 fault', () => host.eventsOf('gas-k2', 'gas.fault')[0]);
    expect(fault.data).toMatchObject({ faultCode: 7, status: 'fault' });
    const bad = await waitFor('gas-k3 invalid', () => host.invalids.find((i) => i.deviceId === 'gas-k3'));
    expect(bad.reason).toMatch(/field lel: float32 is NaN/);
    expect(host.events.filter((e) => e.deviceId === 'gas-k3')).toEqual([]);
  });

  it('follows the slave: a high level with the high bit set, then the valve on coil 3', async () => {
    await pymodbus.setInput(1, 10, ...f32Little(61.25), 0b100);
    const high = await waitFor('gas-k1 high alarm', () => host.eventsOf('gas-k1', 'gas.alarm.high')[0]);
    expect(high.data).toMatchObject({ lel: 61.25, status: 'high' });
    expect(await host.execute('gas-k1', 'valve.close', {})).toEqual({ ok: true, data: { valveClosed: true } });
  });

  it('check-config refuses broken models, each with its path and line', () => {
    const broken = `
      outside:
        blocks: { main: { table: holding, start: 0, length: 4 } }
        fields:
          lel: { block: main, offset: 3, type: float32 }
          status: { block: main, offset: 1, values: { 0: normal, 1: fault } }
          lowThreshold: { block: main, offset: 2 }
          highThreshold: { block: main, offset: 0 }
      badtype:
        blocks: { main: { table: holding, start: 0, length: 4 } }
        fields:
          lel: { block: main, offset: 0, type: double }
          status: { block: main, offset: 1, values: { 0: normal } }
          lowThreshold: { block: main, offset: 2 }
          highThreshold: { block: main, offset: 3 }
      missing:
        blocks: { main: { table: holding, start: 0, length: 4 } }
        fields:
          lel: { block: main, offset: 0 }
          status: { block: main, offset: 1, values: { 0: normal } }
          lowThreshold: { block: main, offset: 2 }`;
    const text = site(1502, broken, '[{ id: gas-k1, unitId: 1, model: outside }, { id: gas-k2, unitId: 2, model: nosuch }]');
    const r = checkConfig(writeTemp(text));
    expect(r.status).toBe(2);
    const lines = text.split('\n');
    const line = (needle: string) => lines.findIndex((l) => l.includes(needle)) + 1;
    const m = 'drivers[0].models';
    expect(r.stderr).toContain(`${m}.outside.fields.lel.offset (line ${line('offset: 3, type: float32')}): field lel: offset 3 (2 registers) lies outside block main`);
    expect(r.stderr).toContain(`${m}.badtype.fields.lel.type (line ${line('type: double')}):`);
    expect(r.stderr).toMatch(/models\.badtype\.fields\.lel\.type .*float32/);
    expect(r.stderr).toMatch(/models\.missing\.fields \(line \d+\): a gas model needs field highThreshold/);
    expect(r.stderr).toMatch(/devices\[1\]\.model \(line \d+\): unknown model "nosuch"; known models: generic-lel, generic-lel-novalve, outside, badtype, missing/);
  });
});
