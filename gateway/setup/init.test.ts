import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/load.js';
import { verifyPasswordAsync } from '../auth/password.js';
import { runCli } from '../testing/run-cli.js';

describe('gateway init', () => {
  it('writes a commented site file from flags, passwords from stdin as hashes, that check-config accepts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'init-'));
    const out = join(dir, 'site.yaml');
    const flags = ['--site-id', 'sunshine-garden', '--name', '阳光花园', '--lat', '31.23', '--lon', '121.47', '--timezone', 'Asia/Shanghai', '--city-broker', 'mqtts://city.example:8883', '--out', out];
    const run = await runCli(['init', ...flags], { stdin: 'Admin-pass-1\nReader-pass-2\n' });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const text = readFileSync(out, 'utf8');
    expect(text).not.toContain('Admin-pass-1');
    expect(text).toContain('# 本地 MQTT 服务器');
    expect(statSync(out).mode & 0o777).toBe(0o640);

    const check = await runCli(['check-config', out]);
    expect(check.stderr).toBe('');
    expect(check.code).toBe(0);
    const cfg = loadConfig(out);
    expect(cfg.site).toEqual({ id: 'sunshine-garden', name: '阳光花园', latitude: 31.23, longitude: 121.47, timezone: 'Asia/Shanghai' });
    expect(cfg.uplink?.url).toBe('mqtts://city.example:8883');
    const [admin, reader] = cfg.broker.accounts;
    expect([admin?.username, admin?.role, reader?.username, reader?.role]).toEqual(['ops', 'admin', 'console', 'reader']);
    expect(await verifyPasswordAsync('Admin-pass-1', admin!.passwordHash)).toBe(true);
    expect(await verifyPasswordAsync('Reader-pass-2', reader!.passwordHash)).toBe(true);

    const again = await runCli(['init', ...flags], { stdin: 'a\nb\n' });
    expect(again.code).toBe(2);
    expect(again.stderr).toContain(`${out} exists: give another --out or --force`);
  }, 120_000);

  it('without a terminal, a missing site id or password is a usage error and nothing is written', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'init-'));
    const noId = await runCli(['init', '--out', join(dir, 'a.yaml')], { stdin: 'x\ny\n' });
    expect(noId.code).toBe(2);
    expect(noId.stderr).toContain('missing --site-id');
    const noPw = await runCli(['init', '--site-id', 's1', '--out', join(dir, 'b.yaml')], { stdin: 'only-admin\n' });
    expect(noPw.code).toBe(2);
    expect(noPw.stderr).toContain('give the passwords on stdin, one a line (admin, then reader)');
    const badId = await runCli(['init', '--site-id', 'Bad Id', '--out', join(dir, 'c.yaml')], { stdin: 'x\ny\n' });
    expect(badId.code).toBe(2);
    expect(badId.stderr).toContain('site.id');
    expect(() => statSync(join(dir, 'c.yaml'))).toThrow();
  }, 120_000);

  it('on a terminal, asks for what the flags leave out, hides the passwords, takes the defaults offered', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'init-'));
    const out = join(dir, 'site.yaml');
    const helper = new URL('./testing/tty-answers.py', import.meta.url).pathname;
    const answers = ['站点编号', 'tty-site', '站点名称', '', '纬度', '31.2', '经度', '121.4', '时区', '', '城市平台地址', '', '管理员密码', 'Admin-pass-1', '只读账号密码', 'Reader-pass-2'];
    const cli = new URL('./cli.ts', new URL('..', import.meta.url)).pathname;
    const { stdout } = await promisify(execFile)('/usr/bin/python3', [helper, ...answers, '--', process.execPath, '--import', 'tsx', cli, 'init', '--out', out], {
      cwd: new URL('../..', import.meta.url).pathname,
      timeout: 150_000,
    });
    expect(stdout).toContain('--timezone (IANA time zone / 时区) [Asia/Shanghai]: ');
    expect(stdout).toContain(`${out}: written`);
    expect(stdout).not.toContain('Admin-pass-1');
    expect(stdout).not.toContain('Reader-pass-2');
    const cfg = loadConfig(out);
    expect(cfg.site).toEqual({ id: 'tty-site', latitude: 31.2, longitude: 121.4, timezone: 'Asia/Shanghai' });
    expect(cfg.uplink).toBeUndefined();
    expect(await verifyPasswordAsync('Reader-pass-2', cfg.broker.accounts[1]!.passwordHash)).toBe(true);
  }, 180_000);
});
