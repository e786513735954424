import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import writeXlsxFile from 'write-excel-file/node';
import { loadConfig } from '../../config/load.js';
import { runCli } from '../testing/run-cli.js';
import { siteFileText } from './init.js';

const HEADER = ['id', 'family', 'building', 'zone', 'address', 'model', 'line'];

/** 2,000 devices: gas detectors on 9 Modbus lines (4 serial, 5 TCP; under 247 units each), smoke detectors and bins by name. */
function deviceRows(): string[][] {
  const rows: string[][] = [];
  for (let i = 0; i < 2000; i++) {
    const b = `B${1 + (i % 8)}`;
    if (i % 10 === 9) rows.push([`smoke-${i}`, 'smoke-detector', b, 'hall', (0x70b3d50000000000n + BigInt(i)).toString(16), '', 'lora-north']);
    else if (i % 50 === 25) rows.push([`bin-${i}`, 'smart-bin', b, '', '', '', 'bins']);
    else rows.push([`gas-${i}`, 'gas-detector', b, `kitchen-${i}`, '0', i % 3 ? '' : 'generic-lel', i % 9 < 4 ? `/dev/ttyUSB${i % 9}` : `192.168.1.${20 + (i % 9)}:502`]);
  }
  return rows;
}
/** Numbers the gas detectors of each line 1, 2, 3… (their unit ids). */
function spreadUnits(rows: string[][]): string[][] {
  const next = new Map<string, number>();
  return rows.map((r) => {
    if (r[1] !== 'gas-detector') return r;
    const n = (next.get(r[6]!) ?? 0) + 1;
    next.set(r[6]!, n);
    return [...r.slice(0, 4), String(n), ...r.slice(5)];
  });
}

const csv = (rows: readonly (readonly string[])[]) => `${[HEADER, ...rows].map((r) => r.join(',')).join('\r\n')}\r\n`;

function newSite(dir: string): string {
  const file = join(dir, 'site.yaml');
  const fastHash = 'scrypt$16384$8$1$E0+nKwNcQRv6I+wUHRb0gw==$Uit+QYP+vrX6i+1OPDqBAqEFnnBi5fr3syz3aPoy25E=';
  writeFileSync(file, siteFileText({ siteId: 's', gatewayId: 'gw-01', journal: join(dir, 'gw.db'), admin: { username: 'ops', password: 'x' }, reader: { username: 'console', password: 'y' } }, () => fastHash));
  return file;
}

describe('gateway import', () => {
  it('a 2,000-row list with 3 broken rows reports exactly those rows and writes nothing; fixed, it imports and passes check-config', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'import-'));
    const site = newSite(dir);
    const before = readFileSync(site, 'utf8');
    const good = spreadUnits(deviceRows());
    const broken = good.map((r) => [...r]);
    // Data row i is spreadsheet row i + 2 (the header is row 1).
    broken[498]![1] = 'toaster'; // row 500
    broken[1200]![0] = broken[3]![0]!; // row 1202: the id of row 5
    broken[1800]![4] = '300'; // row 1802
    writeFileSync(join(dir, 'broken.csv'), csv(broken));

    const bad = await runCli(['import', join(dir, 'broken.csv'), '--into', site]);
    expect(bad.code).toBe(2);
    const listed = bad.stderr.split('\n').filter((l) => l.startsWith('  row '));
    expect(listed).toEqual([
      expect.stringMatching(/^ {2}row 500, column family: unknown family "toaster"; known families: .*gas-detector/),
      `  row 1202, column id: duplicate id "${good[3]![0]}" (also row 5): every device needs its own id`,
      '  row 1802, column address: bad Modbus unit "300": the Modbus unit id (1-247)',
    ]);
    expect(bad.stderr).toContain('3 problems');
    expect(bad.stderr).toContain('nothing was written');
    expect(readFileSync(site, 'utf8')).toBe(before);

    writeFileSync(join(dir, 'devices.csv'), csv(good));
    const ok = await runCli(['import', join(dir, 'devices.csv'), '--into', site]);
    expect(ok.stderr).toContain('2000 devices imported');
    expect(ok.code).toBe(0);
    const check = await runCli(['check-config', site]);
    expect(check.stdout).toContain('2000 devices');
    expect(check.code).toBe(0);
    const cfg = loadConfig(site);
    expect(cfg.drivers.map((d) => d.id).sort()).toEqual([
      ...Array.from({ length: 5 }, (_, k) => `gas-detector-192-168-1-${24 + k}-502`),
      ...Array.from({ length: 4 }, (_, k) => `gas-detector-dev-ttyusb${k}`),
      'smart-bin-bins',
      'smoke-detector-lora-north',
    ].sort());
    const rtu = cfg.drivers.find((d) => d.id === 'gas-detector-dev-ttyusb0') as unknown as { transport: unknown; devices: { id: string; unitId: number; building?: string }[] };
    expect(rtu.transport).toMatchObject({ type: 'rtu', path: '/dev/ttyUSB0' });
    expect(rtu.devices[0]).toMatchObject({ id: 'gas-0', unitId: 1, building: 'B1', zone: 'kitchen-0', model: 'generic-lel' });
    expect(readFileSync(site, 'utf8')).toContain('# 本地 MQTT 服务器'); // the comments stay

    // Importing the same list again: every id is a duplicate of the site file's.
    const twice = await runCli(['import', join(dir, 'devices.csv'), '--into', site]);
    expect(twice.code).toBe(2);
    expect(twice.stderr).toContain(`row 2, column id: duplicate id "gas-0" (also in ${site}, driver gas-detector-dev-ttyusb0)`);
  }, 180_000);

  it('imports an .xlsx list; a named line is given its bus with --line, or joins the driver instance of that id', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'import-'));
    const site = newSite(dir);
    const rows = [
      HEADER,
      ['gas-b1-101', 'gas-detector', 'B1', 'kitchen-101', 1, 'generic-lel', 'RS485-1'],
      ['gas-b1-102', 'gas-detector', 'B1', 'kitchen-102', 2, null, 'RS485-1'],
      ['pile-1', 'ebike-pile', 'B2', 'shed', 5, null, '10.0.0.7:502'],
      ['sos-1', 'alarm-button', 'B2', 'lift', '0011223344556677', null, 'lora'],
    ].map((r) => r.map((value) => (value === null ? null : { value })));
    await writeXlsxFile(rows).toFile(join(dir, 'devices.xlsx'));

    const named = await runCli(['import', join(dir, 'devices.xlsx'), '--into', site]);
    expect(named.code).toBe(2);
    expect(named.stderr).toContain('row 2, column line: "RS485-1" is neither a driver instance of');
    expect(named.stderr).toContain('--line RS485-1=/dev/ttyUSB0');

    const out = join(dir, 'out.yaml');
    const ok = await runCli(['import', join(dir, 'devices.xlsx'), '--into', site, '--out', out, '--line', 'RS485-1=/dev/ttyS1']);
    expect(ok.stderr).toContain('4 devices imported');
    expect(ok.code).toBe(0);
    const cfg = loadConfig(out);
    expect(cfg.drivers.map((d) => [d.family, d.id, d.devices.map((x) => x.id)])).toEqual([
      ['gas-detector', 'gas-detector-rs485-1', ['gas-b1-101', 'gas-b1-102']],
      ['ebike-pile', 'ebike-pile-10-0-0-7-502', ['pile-1']],
      ['alarm-button', 'alarm-button-lora', ['sos-1']],
    ]);
    expect(cfg.drivers[0]).toMatchObject({ transport: { type: 'rtu', path: '/dev/ttyS1' } });

    // A second list on the same bus joins the instance by its id.
    writeFileSync(join(dir, 'more.csv'), csv([['gas-b1-103', 'gas-detector', 'B1', '', '3', '', 'gas-detector-rs485-1']]));
    copyFileSync(out, join(dir, 'out2.yaml'));
    const more = await runCli(['import', join(dir, 'more.csv'), '--into', join(dir, 'out2.yaml')]);
    expect(more.code).toBe(0);
    expect(loadConfig(join(dir, 'out2.yaml')).drivers[0]!.devices.map((d) => d.id)).toEqual(['gas-b1-101', 'gas-b1-102', 'gas-b1-103']);
    // A later list naming the same LoRaWAN line joins the instance the first import made of it.
    writeFileSync(join(dir, 'sos.csv'), csv([['sos-2', 'alarm-button', 'B3', '', '0011223344556688', '', 'lora']]));
    expect((await runCli(['import', join(dir, 'sos.csv'), '--into', join(dir, 'out2.yaml')])).code).toBe(0);
    const after = loadConfig(join(dir, 'out2.yaml')).drivers.filter((d) => d.family === 'alarm-button');
    expect(after.map((d) => [d.id, d.devices.map((x) => x.id)])).toEqual([['alarm-button-lora', ['sos-1', 'sos-2']]]);
  }, 180_000);

  it('names a missing column, a family that cannot be imported and an unknown model', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'import-'));
    writeFileSync(join(dir, 'nocol.csv'), 'id,family,zone\na,gas-detector,k\n');
    const nocol = await runCli(['import', join(dir, 'nocol.csv')]);
    expect(nocol.code).toBe(2);
    expect(nocol.stderr).toContain('row 1: missing columns building, line');
    writeFileSync(join(dir, 'x.csv'), csv([['gate-1', 'access-gate', 'B1', '', '', '', 'gates'], ['gas-1', 'gas-detector', 'B1', '', '1', 'gx-9', '/dev/ttyUSB0']]));
    const out = join(dir, 'never.yaml');
    const x = await runCli(['import', join(dir, 'x.csv'), '--out', out]);
    expect(x.code).toBe(2);
    expect(x.stderr).toContain('row 2, column family: access-gate devices cannot be imported from a list');
    expect(x.stderr).toMatch(/row 3, column model: unknown model "gx-9"; known models: .*generic-lel/);
    expect(existsSync(out)).toBe(false);
  }, 120_000);
});
