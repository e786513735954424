import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './load.js';

const EXAMPLE = 'config/examples/demo-compound.yaml';

function writeTemp(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'cfg-')), 'site.yaml');
  writeFileSync(file, text);
  return file;
}

const BROKEN = `
site: { id: Bad_Site }
gateway: { id: gw-01 }
journal: { path: x.db, synchronous: MAYBE }
broker:
  accounts:
    - { username: bin-7, role: device, passwordHash: secret }
drivers:
  - family: gas-detector
    id: gas-a
    transport: { type: tcp, port: "abc" }
    pollIntervalMs: 1000
    devices:
      - { id: gas-1, unitId: 1 }
      - { id: gas-1, unitId: 300 }
  - family: toaster
    id: t1
    devices: []
  - family: gas-detector
    id: gas-b
    transport: { type: tcp, port: 502 }
    colour: red
    devices: []
`;

function cli(...args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'gateway/cli.ts', ...args], { encoding: 'utf8' });
}

describe('site configuration', () => {
  it('accepts the example compound and freezes it', () => {
    const cfg = loadConfig(EXAMPLE);
    expect(cfg.site.id).toBe('sunshine-garden');
    expect(cfg.drivers.length).toBeGreaterThan(0);
    expect(Object.isFrozen(cfg)).toBe(true);
    expect(Object.isFrozen(cfg.drivers[0])).toBe(true);
  });

  it('reports every problem at once, each with its path and line', () => {
    let err: unknown;
    try {
      loadConfig(writeTemp(BROKEN));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const problems = (err as ConfigError).problems;
    const byPath = new Map(problems.map((p) => [p.path, p]));
    expect(byPath.get('site.id')?.message).toMatch(/lower-case/);
    expect(byPath.get('journal.synchronous')?.message).toMatch(
      /expected one of "FULL", "NORMAL", got string "MAYBE"/,
    );
    expect(byPath.get('broker.accounts[0].passwordHash')?.message).toMatch(/gateway hash-password/);
    expect(byPath.get('drivers[0].transport.port')?.message).toMatch(/expected number, got string "abc"/);
    expect(byPath.get('drivers[0].transport.port')?.line).toBe(11);
    expect(byPath.get('drivers[0].devices[1].unitId')?.message).toMatch(/247|too big|<=/i);
    expect(byPath.get('drivers[1].family')?.message).toMatch(
      /unknown family string "toaster"; known families: gas-detector/,
    );
    expect(byPath.get('drivers[2]')?.message).toMatch(/unknown key "colour"/);
    // the message names the file and every path
    expect((err as ConfigError).message).toContain('drivers[0].transport.port (line 11)');
  });

  it('rejects a device id used twice on the site', () => {
    const text = `
site: { id: s1 }
gateway: { id: g1 }
drivers:
  - family: gas-detector
    id: a
    transport: { type: tcp, port: 502 }
    devices: [{ id: gas-1, unitId: 1 }]
  - family: gas-detector
    id: b
    transport: { type: tcp, port: 503 }
    devices: [{ id: gas-1, unitId: 1 }]
`;
    expect(() => loadConfig(writeTemp(text))).toThrow(
      /drivers\[1\]\.devices\[0\]\.id \(line 12\): device id "gas-1" is already used at drivers\[0\]\.devices\[0\]\.id/,
    );
  });

  it('reports YAML syntax errors with their line', () => {
    expect(() => loadConfig(writeTemp('site: { id: s1\ngateway: [\n'))).toThrow(/YAML syntax/);
  });

  it('gateway check-config exits 0 on the example and 2 naming every bad path on a broken file', () => {
    const ok = cli('check-config', EXAMPLE);
    expect(ok.stderr).toBe('');
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/ok \(site sunshine-garden/);

    const bad = cli('check-config', writeTemp(BROKEN));
    expect(bad.status).toBe(2);
    for (const path of [
      'site.id',
      'journal.synchronous',
      'drivers[0].transport.port',
      'drivers[1].family',
      'drivers[2]',
    ]) {
      expect(bad.stderr).toContain(path);
    }
    expect(bad.stderr).toMatch(/hint:/);

    const missing = cli('check-config', '/nonexistent/site.yaml');
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/cannot read the file \(ENOENT\)/);
  });
});
