import { spawnSync } from 'node:child_process';
import { mkdtempSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseConfigText } from './load.js';

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

  it('check-config refuses a file over the size limit before reading it: exit 2 with the file, its size, the limit and a hint', () => {
    const file = writeTemp('site: { id: s1 }\n');
    truncateSync(file, 54 * 1024 * 1024); // sparse: 54 MB on paper, nothing on disk
    const r = cli('check-config', file);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(file);
    expect(r.stderr).toMatch(/the file is 54 MB; a site file may be at most 8 MB/);
    expect(r.stderr).toMatch(/hint: .*right file/);
  });

  it('a stream without end (a device, a pipe) is refused once it passes the limit', () => {
    expect(() => loadConfig('/dev/zero', { maxBytes: 64 * 1024 })).toThrow(/over 64 kB; a site file may be at most 64 kB/);
  });

  it('check-config refuses a YAML alias bomb: exit 2 with the file, the problem and a hint', () => {
    const levels = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 10; i++) levels.push(`a${i}: &a${i} [${Array(9).fill(`*a${i - 1}`).join(',')}]`);
    const file = writeTemp(`${levels.join('\n')}\nsite: { id: s1, name: *a9 }\ngateway: { id: g1 }\n`);
    const r = cli('check-config', file);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(file);
    expect(r.stderr).toMatch(/a\d \(line \d+\): with its aliases \(\*name\) expanded, the file holds more than 1,000,000 values/);
    expect(r.stderr).toMatch(/hint: .*anchors/);
  });

  it('refuses deep nesting before the parser recurses, and aliases that contain themselves', () => {
    const deep = `site: { id: s1, name: ${'['.repeat(5000)}${']'.repeat(5000)} }\n`;
    expect(() => parseConfigText('deep.yaml', deep)).toThrow(/\(line 1\): mappings and lists nest more than 64 levels deep/);
    // twice in one process: a parser that overflowed its stack once may take the process down the next time
    expect(() => parseConfigText('deep.yaml', deep)).toThrow(ConfigError);
    const viaAliases = `a: &a ${'['.repeat(40)}${']'.repeat(40)}\nb: &b ${'['.repeat(40)}*a${']'.repeat(40)}\n`;
    expect(() => parseConfigText('alias-deep.yaml', viaAliases)).toThrow(/b \(line 2\): with its aliases .* more than 64 levels deep/);
    expect(() => parseConfigText('cycle.yaml', 'site: &s { id: s1, name: [*s] }\n')).toThrow(
      /site \(line 1\): a YAML alias \(\*name\) refers to a mapping or list that contains it/,
    );
    const many = `x: &x 1\ny: [${Array(6000).fill('*x').join(',')}]\n`;
    expect(() => parseConfigText('many.yaml', many)).toThrow(/\(line 2\): more than 5,000 YAML anchors, aliases and tags/);
  });

  it('bounds the parser\'s work: it stops at the first token or key past the limits; syntax errors, documents; and finds repeated keys', () => {
    expect(() => parseConfigText('blank.yaml', '\n'.repeat(2_100_000))).toThrow(
      /\(line 2000001\): the file holds more than 2,000,000 YAML tokens/,
    );
    expect(() => parseConfigText('list.yaml', `x: [${Array(1_001).fill('1').join(',')}]\n`, { maxNodes: 1_000 })).toThrow(
      /the file holds more than 1,000 keys and values/,
    );
    expect(() => parseConfigText('noise.yaml', '] '.repeat(1000))).toThrow(
      /\(line 1\): more than 100 YAML syntax errors, the first here: Unexpected flow-seq-end/,
    );
    expect(() => parseConfigText('two.yaml', '---\nsite: { id: a }\n---\nsite: { id: b }\n')).toThrow(
      /\(line 3\): a second YAML document/,
    );
    expect(() => parseConfigText('dup.yaml', 'site: { id: a }\ngateway: { id: g }\nsite: { id: b }\n')).toThrow(
      /\(line 3\): YAML syntax: Map keys must be unique/,
    );
  });

  it('accepts the site file of a large compound (20,000 devices) within the limits', () => {
    const lines = ['site: { id: big }', 'gateway: { id: gw-1 }', 'drivers:'];
    for (let d = 0; d < 100; d++) {
      lines.push(`  - family: gas-detector`, `    id: line-${d}`, `    transport: { type: tcp, host: 10.0.${d}.2, port: 502 }`, `    devices:`);
      for (let u = 1; u <= 200; u++) {
        lines.push(`      - id: gas-${d}-${u}`, `        unitId: ${u}`, `        building: b${u % 40}`, `        zone: kitchen-${u}`, `        tags: [kitchen, valve]`);
      }
    }
    const cfg = parseConfigText('big.yaml', `${lines.join('\n')}\n`);
    expect(cfg.drivers.reduce((n, d) => n + d.devices.length, 0)).toBe(20_000);
  });

  it('gives process.env back as it was, after a load and after a refused file (the parser runs with a copy)', () => {
    const env = process.env;
    parseConfigText('ok.yaml', 'site: { id: s1 }\ngateway: { id: g1 }\n');
    expect(process.env).toBe(env);
    expect(() => parseConfigText('noise.yaml', '] '.repeat(1000))).toThrow(ConfigError);
    expect(process.env).toBe(env);
  });

  it('still accepts ordinary anchors and aliases', () => {
    const text = `
site: { id: s1 }
gateway: { id: g1 }
drivers:
  - family: gas-detector
    id: a
    transport: { type: tcp, port: 502 }
    devices:
      - { id: gas-1, unitId: 1, tags: &kitchen [kitchen, residential] }
      - { id: gas-2, unitId: 2, tags: *kitchen }
`;
    const cfg = parseConfigText('ok.yaml', text);
    expect(cfg.drivers[0]?.devices[1]?.tags).toEqual(['kitchen', 'residential']);
    expect(Object.isFrozen(cfg.drivers[0]?.devices[1]?.tags)).toBe(true);
  });

  it('http: a login by default off loopback; requireLogin: false only on loopback or in demo mode', () => {
    const base = 'site: { id: s1 }\ngateway: { id: g1 }\n';
    const cfg = parseConfigText('a.yaml', base);
    expect(cfg.http).toEqual({
      host: '127.0.0.1',
      port: 8080,
      consoleFeed: { allowedOrigins: [], loginTimeout: '10s', maxClients: 32 },
    });
    expect(() => parseConfigText('b.yaml', `${base}http: { host: 0.0.0.0, requireLogin: false }\n`)).toThrow(
      /http\.requireLogin \(line 3\): false is allowed only on a loopback host/,
    );
    expect(parseConfigText('c.yaml', `${base}http: { host: ::1, requireLogin: false }\n`).http.requireLogin).toBe(false);
    expect(parseConfigText('d.yaml', `${base}demo: true\nhttp: { host: 0.0.0.0, requireLogin: false }\n`).demo).toBe(true);
    expect(() =>
      parseConfigText('e.yaml', `${base}http: { consoleFeed: { allowedOrigins: [ "https://x.example/path" ] } }\n`),
    ).toThrow(/http\.consoleFeed\.allowedOrigins\[0\].*scheme:\/\/host\[:port\]/);
  });
});
