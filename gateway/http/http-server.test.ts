import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { LoginGuard } from '../auth/login-guard.js';
import { hashPassword } from '../auth/password.js';
import { isLoopbackHost, loginRequired } from './http-auth.js';
import { type HttpSecurity, httpSecurity, startHttp } from './http-server.js';

const accounts = [
  { username: 'duty1', role: 'reader', passwordHash: hashPassword('duty-pw') },
  { username: 'ops', role: 'admin', passwordHash: hashPassword('ops-pw') },
  { username: 'bin-7', role: 'device', passwordHash: hashPassword('dev-pw') },
];
const TOKEN = 'k3J9vQ2x7LmP0aZr5TnW8yHb4cDe6FgU';

function tokenFile(content = `${TOKEN}\n`): string {
  const file = join(mkdtempSync(join(tmpdir(), 'ops-token-')), 'metrics.token');
  writeFileSync(file, content);
  chmodSync(file, 0o600);
  return file;
}

const basic = (user: string, pw: string) => ({
  authorization: `Basic ${Buffer.from(`${user}:${pw}`).toString('base64')}`,
});

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

/** An ops server configured for `host`; it listens on 127.0.0.1 whatever `host` says. */
async function ops(host: string, security?: Partial<HttpSecurity> & { requireLogin?: boolean }) {
  const registry = new Registry();
  const http = await startHttp({
    host,
    listenHost: '127.0.0.1',
    port: 0,
    registry,
    health: () => ({ ok: true, status: 'ok', site: 'sunshine-garden', drivers: [{ id: 'gas-line-north' }] }),
    security: {
      ...httpSecurity({ http: { host, metricsTokenFile: security?.metricsTokenFile }, broker: { accounts } }),
      ...security,
    },
  });
  http.route('/alarms', (_req, res) => void res.writeHead(200).end('alarms'));
  cleanup.push(() => http.close());
  const get = (path: string, headers: Record<string, string> = {}) => fetch(`${http.url}${path}`, { headers });
  return { http, get };
}

describe('ops HTTP: who may read it', () => {
  it('decides on the configured host: loopback needs no login, anything else does', () => {
    for (const h of ['127.0.0.1', '127.8.9.10', '::1', '[::1]', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', 'localhost', 'LOCALHOST']) {
      expect(isLoopbackHost(h), h).toBe(true);
    }
    for (const h of ['0.0.0.0', '::', '', '192.168.1.10', '10.0.0.5', 'fe80::1', 'gateway.local', '128.0.0.1']) {
      expect(isLoopbackHost(h), h).toBe(false);
    }
    expect(loginRequired({ host: '127.0.0.1' })).toBe(false);
    expect(loginRequired({ host: '192.168.1.10' })).toBe(true);
    expect(loginRequired({ host: '127.0.0.1', requireLogin: true })).toBe(true);
    expect(loginRequired({ host: '0.0.0.0', requireLogin: false })).toBe(false);
  });

  it('on a LAN address: /metrics is 401 without a login, 200 with a console account or the metrics token; /healthz stays open with status only', async () => {
    const { get } = await ops('192.168.1.10', { metricsTokenFile: tokenFile() });

    const anon = await get('/metrics');
    expect(anon.status).toBe(401);
    expect(anon.headers.get('www-authenticate')).toMatch(/^Basic realm="gateway console"/);
    expect(await anon.text()).not.toMatch(/gateway_/);

    const reader = await get('/metrics', basic('duty1', 'duty-pw'));
    expect(reader.status).toBe(200);
    expect(await reader.text()).toMatch(/gateway_ops_refused_total\{reason="no-login"\} 1/);
    expect((await get('/metrics', basic('ops', 'ops-pw'))).status).toBe(200);
    expect((await get('/metrics', { authorization: `Bearer ${TOKEN}` })).status).toBe(200);

    expect((await get('/metrics', basic('duty1', 'wrong'))).status).toBe(401);
    expect((await get('/metrics', basic('bin-7', 'dev-pw'))).status).toBe(401); // device accounts never
    expect((await get('/metrics', { authorization: `Bearer ${TOKEN}x` })).status).toBe(401);

    // /healthz: open, but anonymous callers learn only that the gateway is up
    const health = await get('/healthz');
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ ok: true, status: 'ok' });
    const full = await get('/healthz', basic('duty1', 'duty-pw'));
    expect(await full.json()).toMatchObject({ site: 'sunshine-garden', drivers: [{ id: 'gas-line-north' }] });

    // every other path needs a console login; the metrics token opens /metrics only
    expect((await get('/alarms')).status).toBe(401);
    expect((await get('/alarms', { authorization: `Bearer ${TOKEN}` })).status).toBe(401);
    expect((await get('/alarms', basic('duty1', 'duty-pw'))).status).toBe(200);
    expect((await get('/no-such-page')).status).toBe(401); // not even which paths exist
    expect((await get('/no-such-page', basic('duty1', 'duty-pw'))).status).toBe(404);
  });

  it('throttles wrong credentials per source: 429 with Retry-After, without checking the password', async () => {
    const loginGuard = new LoginGuard({ maxFailuresPerSource: 3 });
    const { get } = await ops('10.0.0.5', { loginGuard });
    for (let i = 0; i < 3; i++) expect((await get('/metrics', basic('duty1', `guess-${i}`))).status).toBe(401);
    const refused = await get('/metrics', basic('duty1', 'guess-3'));
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await get('/metrics', basic('duty1', 'duty-pw'))).status).toBe(429); // locked out, right or wrong
    expect(loginGuard.stats().verifications).toBe(3);
    expect(loginGuard.stats().throttled).toBe(2);
  });

  it('on loopback: as before, no login (unless requireLogin says so)', async () => {
    const { get } = await ops('127.0.0.1');
    expect((await get('/metrics')).status).toBe(200);
    expect(await (await get('/healthz')).json()).toMatchObject({ site: 'sunshine-garden' });
    expect((await get('/alarms')).status).toBe(200);

    const strict = await ops('127.0.0.1', { requireLogin: true });
    expect((await strict.get('/metrics')).status).toBe(401);
    expect((await strict.get('/metrics', basic('ops', 'ops-pw'))).status).toBe(200);
  });

  it('refuses to start with a metrics token file that is missing, short or holds more than a token', async () => {
    await expect(ops('192.168.1.10', { metricsTokenFile: '/nonexistent/token' })).rejects.toThrow(
      /http\.metricsTokenFile \/nonexistent\/token: cannot read it \(ENOENT\)/,
    );
    await expect(ops('192.168.1.10', { metricsTokenFile: tokenFile('short\n') })).rejects.toThrow(
      /the token is 5 characters; at least 24 are needed/,
    );
    await expect(ops('192.168.1.10', { metricsTokenFile: tokenFile(`${TOKEN} ${TOKEN}`) })).rejects.toThrow(
      /more than one word/,
    );
  });
});
