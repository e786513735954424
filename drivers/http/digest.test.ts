import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type DigestAlgorithm,
  type DigestCheck,
  DigestClient,
  DigestServer,
  digestResponse,
  parseAuthHeader,
  pickChallenge,
} from './digest.js';

const run = promisify(execFile);
const USERS: Record<string, string> = { gate: 'p@ss word:1', other: 'x' };

// RFC 7616 §3.9.1: the worked example, for both algorithms.
const RFC_EXAMPLE = {
  username: 'Mufasa',
  password: 'Circle of Life',
  realm: 'http-auth@example.org',
  method: 'GET',
  uri: '/dir/index.html',
  nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v',
  qop: 'auth' as const,
  nc: '00000001',
  cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ',
};

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

/** A loopback server answering 200 to authenticated requests, 401 with challenges otherwise; it records each check. */
async function digestServer(opts: { algorithms?: DigestAlgorithm[]; now?: () => number } = {}) {
  const checks: DigestCheck[] = [];
  const digest = new DigestServer({ realm: 'test realm "q"', password: (u) => USERS[u], ...opts });
  const srv = createServer((req, res) => {
    const c = digest.check(req.method ?? 'GET', req.url ?? '/', req.headers.authorization);
    checks.push(c);
    if (c.ok) return res.writeHead(200, { 'content-type': 'text/plain' }).end(`hello ${c.username}`);
    res.writeHead(401, { 'www-authenticate': digest.challenges(c.reason === 'stale') }).end();
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  servers.push(srv);
  return { url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`, checks, digest };
}

describe('digestResponse', () => {
  it('gives the responses of the RFC 7616 example (MD5 and SHA-256)', () => {
    expect(digestResponse({ ...RFC_EXAMPLE, algorithm: 'MD5' })).toBe('8ca523f5e9506fed4657c9700eebdbec');
    expect(digestResponse({ ...RFC_EXAMPLE, algorithm: 'SHA-256' })).toBe(
      '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1',
    );
  });
});

describe('parseAuthHeader', () => {
  it('reads joined challenges, quoted values with escapes and commas, and bare tokens', () => {
    expect(parseAuthHeader('Digest realm="a, \\"b\\"", qop="auth,auth-int", algorithm=SHA-256, Digest realm=x, nonce="n"')).toEqual([
      { scheme: 'Digest', params: { realm: 'a, "b"', qop: 'auth,auth-int', algorithm: 'SHA-256' } },
      { scheme: 'Digest', params: { realm: 'x', nonce: 'n' } },
    ]);
  });
  it('throws on an unterminated value or a parameter before any scheme', () => {
    expect(() => parseAuthHeader('Digest realm="abc')).toThrow(/unterminated/);
    expect(() => parseAuthHeader('realm=x')).toThrow(/before any scheme/);
  });
  it('picks SHA-256 over MD5 and skips what it cannot answer', () => {
    const h = 'Digest realm="r", nonce="1", algorithm=MD5, qop="auth", Digest realm="r", nonce="2", algorithm=SHA-256, qop="auth", Digest realm="r", nonce="3", algorithm=SHA-512-256';
    expect(pickChallenge(h)).toMatchObject({ algorithm: 'SHA-256', nonce: '2', qop: 'auth' });
    expect(pickChallenge('Digest realm="r", nonce="3", algorithm=MD5-sess')).toBeUndefined();
    expect(pickChallenge('Basic realm="r"')).toBeUndefined();
  });
});

describe('DigestServer against curl --digest (an independent client)', () => {
  for (const alg of ['MD5', 'SHA-256'] as const) {
    it(`accepts curl with the right password (${alg}) and refuses a wrong one`, async () => {
      const { url, checks } = await digestServer({ algorithms: [alg] });
      const ok = await run('curl', ['-s', '--digest', '-u', `gate:${USERS.gate}`, `${url}/ISAPI/x?format=json`]);
      expect(ok.stdout).toBe('hello gate');
      expect(checks.map((c) => (c.ok ? 'ok' : c.reason))).toEqual(['no-credentials', 'ok']);

      const bad = await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '--digest', '-u', 'gate:wrong', url]);
      expect(bad.stdout).toBe('401');
      expect(checks.at(-1)).toMatchObject({ ok: false, reason: 'wrong-credentials', username: 'gate' });
      const unknown = await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '--digest', '-u', 'nobody:x', url]);
      expect(unknown.stdout).toBe('401');
      expect(checks.at(-1)).toMatchObject({ ok: false, reason: 'unknown-user' });
    });
  }

  it('refuses a replayed Authorization header (same nonce count), a changed uri, a forged nonce and garbage', async () => {
    const { url, checks } = await digestServer();
    const client = new DigestClient({ username: 'gate', password: USERS.gate! });
    expect((await client.fetch(`${url}/a`)).status).toBe(200);
    // Capture one good header by signing a request the way the client does, then send it twice.
    const captured: string[] = [];
    const spy = createServer((req, res) => {
      captured.push(req.headers.authorization ?? '');
      res.end();
    });
    await new Promise<void>((r) => spy.listen(0, '127.0.0.1', r));
    servers.push(spy);
    // The client holds the server's nonce: point it at the spy (same path) to see what it would send.
    await client.fetch(`http://127.0.0.1:${(spy.address() as AddressInfo).port}/a`);
    const header = captured[0]!;
    const send = (path: string, authorization: string) => fetch(`${url}${path}`, { headers: { authorization } });
    expect((await send('/a', header)).status).toBe(200);
    expect((await send('/a', header)).status).toBe(401);
    expect(checks.at(-1)).toMatchObject({ ok: false, reason: 'replay' });
    expect((await send('/b', header)).status).toBe(401);
    expect(checks.at(-1)).toMatchObject({ ok: false, reason: 'wrong-credentials', detail: /uri/ });
    const forged = header.replace(/nonce="[^"]+"/, 'nonce="abc.def.ghi"');
    expect((await send('/a', forged)).status).toBe(401);
    expect(checks.at(-1)).toMatchObject({ ok: false, reason: 'wrong-credentials', detail: /nonce/ });
    for (const junk of ['Digest realm="x', 'Basic Z2F0ZTp4', 'Digest username="gate"']) {
      expect((await send('/a', junk)).status).toBe(401);
      expect(checks.at(-1)).toMatchObject({ ok: false, reason: 'malformed' });
    }
  });
});

describe('DigestClient', () => {
  it('answers the challenge once, then reuses the nonce with increasing counts', async () => {
    const { url, checks } = await digestServer();
    const client = new DigestClient({ username: 'gate', password: USERS.gate! });
    for (let i = 0; i < 3; i++) expect(await (await client.fetch(`${url}/p?i=${i}`, { method: 'PUT', body: 'x' })).text()).toBe('hello gate');
    expect(checks.map((c) => (c.ok ? 'ok' : c.reason))).toEqual(['no-credentials', 'ok', 'ok', 'ok']);
  });

  it('takes a new nonce when the server says the old one is stale, and stops on a wrong password', async () => {
    let t = 1_000_000;
    const { url, checks } = await digestServer({ now: () => t });
    const client = new DigestClient({ username: 'gate', password: USERS.gate! });
    expect((await client.fetch(url)).status).toBe(200);
    t += 10 * 60_000;
    expect((await client.fetch(url)).status).toBe(200);
    expect(checks.map((c) => (c.ok ? 'ok' : c.reason))).toEqual(['no-credentials', 'ok', 'stale', 'ok']);

    const wrong = new DigestClient({ username: 'gate', password: 'nope' });
    expect((await wrong.fetch(url)).status).toBe(401);
    expect(checks.slice(4).map((c) => (c.ok ? 'ok' : c.reason))).toEqual(['no-credentials', 'wrong-credentials']);
  });

  it('recovers when the server forgot its nonces (restarted with a new secret)', async () => {
    let digest = new DigestServer({ realm: 'r', password: (u) => USERS[u] });
    const srv = createServer((req, res) => {
      const c = digest.check(req.method ?? 'GET', req.url ?? '/', req.headers.authorization);
      if (c.ok) return res.end('ok');
      res.writeHead(401, { 'www-authenticate': digest.challenges(c.reason === 'stale') }).end();
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    servers.push(srv);
    const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}/`;
    const client = new DigestClient({ username: 'gate', password: USERS.gate! });
    expect((await client.fetch(url)).status).toBe(200);
    digest = new DigestServer({ realm: 'r', password: (u) => USERS[u] });
    expect(await (await client.fetch(url)).text()).toBe('ok');
  });
});
