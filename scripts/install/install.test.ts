/**
 * scripts/install/install.sh into a temporary root (--root): the service user and its groups in
 * the root's passwd and group files, owners (numeric ids from those files) and modes, the units
 * checked by systemd-analyze verify, the installed gateway running, node too old, uninstall, purge.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GATEWAY_ENV, GATEWAY_NODE_FLAGS } from '../../gateway/core/node-flags.js';
import { REPO_ROOT } from '../structure.js';

const SCRIPT = join(REPO_ROOT, 'scripts/install/install.sh');
const SYSTEMD_ANALYZE = '/usr/bin/systemd-analyze';
const UNITS = 'etc/systemd/system';

function install(root: string, ...args: string[]) {
  return spawnSync('bash', [SCRIPT, '--root', root, '--deps', 'copy', ...args], { encoding: 'utf8' });
}

/** The entry of a name in a passwd or group file under the root, split into fields. */
function entry(root: string, file: 'passwd' | 'group', name: string): string[] | undefined {
  const line = readFileSync(join(root, 'etc', file), 'utf8').split('\n').find((l) => l.startsWith(`${name}:`));
  return line?.split(':');
}

function owner(path: string): { mode: string; uid: number; gid: number } {
  const s = statSync(path);
  return { mode: (s.mode & 0o7777).toString(8), uid: s.uid, gid: s.gid };
}

describe('install.sh --root', () => {
  let root: string;

  beforeAll(() => {
    // The installer installs the build: make it when this checkout has none.
    if (!existsSync(join(REPO_ROOT, 'dist/gateway/cli.js'))) execFileSync('npm', ['run', 'build', '--silent'], { cwd: REPO_ROOT, stdio: 'inherit' });
    root = mkdtempSync(join(tmpdir(), 'cg-install-'));
    execFileSync('mkdir', ['-p', join(root, 'etc')]);
    writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/bash\nsvc:x:999:999::/:/usr/sbin/nologin\n');
    writeFileSync(join(root, 'etc/group'), 'root:x:0:\ndialout:x:20:pi\nsvc:x:999:\n');
  }, 300_000);
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('creates the user in dialout, the folders with their owners and modes, the units and a working gateway', () => {
    // What the bench compiles beside the build (dist/scripts) is not installed.
    const benchMarker = join(REPO_ROOT, 'dist/scripts/bench/install-test-marker.js');
    const madeMarker = !existsSync(benchMarker);
    if (madeMarker) {
      mkdirSync(dirname(benchMarker), { recursive: true });
      writeFileSync(benchMarker, '');
    }
    const r = install(root);
    if (madeMarker) rmSync(benchMarker);
    expect(r.status, r.stderr).toBe(0);
    expect(existsSync(join(root, 'opt/compound-gateway/dist/scripts')), 'dist/scripts left out').toBe(false);

    const user = entry(root, 'passwd', 'compound-gw')!;
    const group = entry(root, 'group', 'compound-gw')!;
    expect(user, 'compound-gw in passwd').toBeDefined();
    const [uid, gid] = [Number(user[2]), Number(group[2])];
    expect(uid).not.toBe(999); // taken by svc
    expect(gid).not.toBe(999);
    expect(Number(user[3])).toBe(gid);
    expect(user[6]).toBe('/usr/sbin/nologin');
    expect(entry(root, 'group', 'dialout')![3]).toBe('pi,compound-gw');

    expect(owner(join(root, 'etc/compound-gateway'))).toEqual({ mode: '750', uid: 0, gid });
    expect(owner(join(root, 'etc/compound-gateway/secrets'))).toEqual({ mode: '750', uid: 0, gid });
    expect(owner(join(root, 'etc/compound-gateway/site.yaml'))).toEqual({ mode: '640', uid: 0, gid });
    expect(owner(join(root, 'var/lib/compound-gateway'))).toEqual({ mode: '750', uid, gid });

    const unit = readFileSync(join(root, UNITS, 'compound-gateway.service'), 'utf8');
    for (const line of [
      'User=compound-gw',
      'SupplementaryGroups=dialout',
      'Restart=on-failure',
      'RestartPreventExitStatus=2',
      'ProtectSystem=strict',
      'ReadWritePaths=/var/lib/compound-gateway',
      'NoNewPrivileges=yes',
      'PrivateTmp=yes',
      'ProtectHome=yes',
      'StandardOutput=journal',
      `ExecStart=${process.execPath} ${GATEWAY_NODE_FLAGS.join(' ')} /opt/compound-gateway/dist/gateway/cli.js start --config /etc/compound-gateway/site.yaml`,
      ...Object.entries(GATEWAY_ENV).map(([k, v]) => `Environment=${k}=${v}`),
    ]) {
      expect(unit.split('\n'), line).toContain(line);
    }
    expect(unit).toMatch(/^AmbientCapabilities=$/m);
    // `start` checks the site file itself: it is parsed once per start, not twice.
    expect(unit).not.toMatch(/^ExecStartPre=/m);

    // The installed tree runs, with its production dependencies only.
    const prefix = join(root, 'opt/compound-gateway');
    const version = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).version as string;
    expect(execFileSync(process.execPath, [join(prefix, 'dist/gateway/cli.js'), 'version'], { encoding: 'utf8' }).trim()).toBe(version);
    expect(existsSync(join(prefix, 'node_modules/zod'))).toBe(true);
    expect(existsSync(join(prefix, 'node_modules/vitest')), 'development packages pruned').toBe(false);
    const wrapper = readFileSync(join(root, 'usr/local/bin/gateway'), 'utf8');
    expect(wrapper).toContain(`${GATEWAY_NODE_FLAGS.join(' ')} /opt/compound-gateway/dist/gateway/cli.js`);
    for (const [k, v] of Object.entries(GATEWAY_ENV)) expect(wrapper.split('\n')).toContain(`export ${k}=${v}`);
  }, 300_000);

  it('writes units that systemd-analyze verify accepts', () => {
    expect(
      existsSync(SYSTEMD_ANALYZE),
      `${SYSTEMD_ANALYZE} is missing: install the Debian package systemd (probe: systemd-analyze --version)`,
    ).toBe(true);
    const files = ['compound-gateway.service', 'compound-gateway-liveness.service', 'compound-gateway-liveness.timer'];
    const r = spawnSync(SYSTEMD_ANALYZE, ['verify', ...files.map((f) => join(root, UNITS, f))], { encoding: 'utf8' });
    expect(r.status, `systemd-analyze verify: ${r.stderr}`).toBe(0);
    expect(r.stderr.trim()).toBe('');
  });

  it('installs again without touching the site file or adding the user twice; --low-ports grants binding below 1024', () => {
    const site = join(root, 'etc/compound-gateway/site.yaml');
    writeFileSync(site, '# this site\n');
    const r = install(root, '--low-ports');
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(site, 'utf8')).toBe('# this site\n');
    expect(readFileSync(join(root, 'etc/passwd'), 'utf8').match(/^compound-gw:/gm)).toHaveLength(1);
    expect(entry(root, 'group', 'dialout')![3]).toBe('pi,compound-gw');
    expect(readFileSync(join(root, UNITS, 'compound-gateway.service'), 'utf8')).toMatch(/^AmbientCapabilities=CAP_NET_BIND_SERVICE$/m);
  }, 300_000);

  it('refuses a Node.js older than 20, saying what to install', () => {
    const old = join(root, 'old-node');
    writeFileSync(old, '#!/bin/sh\necho 18\n');
    chmodSync(old, 0o755);
    const r = install(root, '--node', old);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('Node.js >= 20 is needed');
  });

  it('--uninstall removes units, prefix and user but keeps the data; --purge removes it too', () => {
    let r = spawnSync('bash', [SCRIPT, '--root', root, '--uninstall'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(existsSync(join(root, UNITS, 'compound-gateway.service'))).toBe(false);
    expect(existsSync(join(root, 'opt/compound-gateway'))).toBe(false);
    expect(entry(root, 'passwd', 'compound-gw')).toBeUndefined();
    expect(entry(root, 'group', 'compound-gw')).toBeUndefined();
    expect(entry(root, 'group', 'dialout')![3]).toBe('pi');
    expect(entry(root, 'passwd', 'svc')).toBeDefined();
    expect(existsSync(join(root, 'var/lib/compound-gateway'))).toBe(true);
    expect(existsSync(join(root, 'etc/compound-gateway/site.yaml'))).toBe(true);

    r = spawnSync('bash', [SCRIPT, '--root', root, '--uninstall', '--purge'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(existsSync(join(root, 'var/lib/compound-gateway'))).toBe(false);
    expect(existsSync(join(root, 'etc/compound-gateway'))).toBe(false);
  });
});
