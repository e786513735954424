import { request } from 'node:http';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { captureLog } from '../broker/broker-test-kit.js';
import { createDriverHttp, type RunningDriverHttp } from './driver-http.js';

const open: RunningDriverHttp[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((h) => h.close()));
});

function make(o: { maxWsPayload?: number; headersTimeoutMs?: number } = {}) {
  const refusals: { reason: string; detail?: Record<string, unknown> }[] = [];
  const { log, lines } = captureLog('debug');
  const http = createDriverHttp({
    driver: 'push-1',
    listen: { host: '127.0.0.1', port: 0 },
    refused: (reason, detail) => refusals.push({ reason, detail }),
    log,
    ...o,
  });
  open.push(http);
  return { http, refusals, lines, reasons: () => refusals.map((r) => r.reason) };
}

function wsOpen(ws: WebSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
}

/** The HTTP status a refused WebSocket upgrade was answered with. */
function wsRefusal(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.once('open', () => reject(new Error('upgrade accepted')));
    ws.once('error', () => {});
  });
}

describe('driver HTTP listener', () => {
  it('without listen: using it says what to add; start and close do nothing', async () => {
    const { log } = captureLog('silent');
    const http = createDriverHttp({ driver: 'meter-1', refused: () => {}, log });
    expect(() => http.route('POST', '/x', () => {})).toThrow(/driver meter-1 has no listen: in its config; add listen: \{host, port\}/);
    expect(() => http.upgrade('/ws', () => {})).toThrow(/no listen:/);
    await http.start();
    expect(http.url).toBeUndefined();
    await http.close();
  });

  it('routes by method and exact path or RegExp, on the real port', async () => {
    const { http } = make();
    http.route('GET', '/status', (_req, res) => void res.end('up'));
    http.route('*', /^\/devices\/([a-z0-9-]+)$/, (req, res, url) => {
      res.end(`${req.method} ${/^\/devices\/([a-z0-9-]+)$/.exec(url.pathname)![1]} ${url.searchParams.get('q')}`);
    });
    await http.start();
    expect(http.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(http.url).not.toMatch(/:0$/);
    expect(await (await fetch(`${http.url}/status`)).text()).toBe('up');
    expect(await (await fetch(`${http.url}/devices/s-1?q=7`, { method: 'PUT' })).text()).toBe('PUT s-1 7');
  });

  it('unknown path: 404 and refused; wrong method: 405 with allow', async () => {
    const { http, reasons } = make();
    http.route('POST', '/readings', (_req, res) => void res.end());
    http.route('PUT', '/readings', (_req, res) => void res.end());
    await http.start();
    const r404 = await fetch(`${http.url}/nope`);
    expect(r404.status).toBe(404);
    expect(await r404.json()).toEqual({ error: 'not found' });
    expect(reasons()).toEqual(['unknown-route']);
    const r405 = await fetch(`${http.url}/readings`);
    expect(r405.status).toBe(405);
    expect(r405.headers.get('allow')).toBe('POST, PUT');
  });

  it('a handler that throws is answered 500 and logged; the listener keeps serving', async () => {
    const { http, lines } = make();
    http.route('GET', '/boom', () => {
      throw new Error('driver bug');
    });
    http.route('GET', '/async-boom', async () => Promise.reject(new Error('async driver bug')));
    http.route('GET', '/ok', (_req, res) => void res.end('ok'));
    await http.start();
    expect((await fetch(`${http.url}/boom`)).status).toBe(500);
    expect((await fetch(`${http.url}/async-boom`)).status).toBe(500);
    expect(await (await fetch(`${http.url}/ok`)).text()).toBe('ok');
    expect(lines.filter((l) => l.includes('driver route failed'))).toHaveLength(2);
  });

  it('body(): under the limit is read; over it is answered 413 once and refused as too-large', async () => {
    const { http, reasons, lines } = make();
    const seen: string[] = [];
    http.route('POST', '/up', async (req, res) => {
      const body = await http.body(req, 1024);
      seen.push(body.toString());
      res.end('stored');
    });
    await http.start();
    const ok = await fetch(`${http.url}/up`, { method: 'POST', body: 'x'.repeat(1024) });
    expect(await ok.text()).toBe('stored');
    const big = await fetch(`${http.url}/up`, { method: 'POST', body: 'y'.repeat(50_000) });
    expect(big.status).toBe(413);
    expect(reasons()).toEqual(['too-large']);
    expect(seen).toEqual(['x'.repeat(1024)]);
    expect(lines.some((l) => l.includes('driver route failed'))).toBe(false);
  });

  it('body(): a chunked upload without a length is cut at the limit', async () => {
    const { http, reasons } = make();
    let handlerSawError = '';
    http.route('POST', '/up', async (req, res) => {
      try {
        await http.body(req, 1000);
        res.end('stored');
      } catch (err) {
        handlerSawError = (err as Error).name;
        throw err;
      }
    });
    await http.start();
    const port = Number(new URL(http.url!).port);
    const status = await new Promise<number>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/up' }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      for (let i = 0; i < 5; i++) req.write('z'.repeat(400));
    });
    expect(status).toBe(413);
    expect(handlerSawError).toBe('BodyTooLarge');
    expect(reasons()).toEqual(['too-large']);
  });

  it('WebSocket: accepted upgrades get a socket; a refusal is 401 and counted; an unknown path is 404', async () => {
    const { http, reasons } = make();
    http.upgrade(
      /^\/stream$/,
      (ws, _req, url) => {
        ws.on('message', (m) => ws.send(`${url.searchParams.get('device')}:${String(m)}`));
      },
      (req) => (req.headers.authorization === 'Bearer good' ? undefined : 'auth'),
    );
    await http.start();
    const wsUrl = http.url!.replace('http', 'ws');
    const ws = new WebSocket(`${wsUrl}/stream?device=s-1`, { headers: { authorization: 'Bearer good' } });
    await wsOpen(ws);
    const echoed = new Promise<string>((resolve) => ws.once('message', (m) => resolve(String(m))));
    ws.send('hello');
    expect(await echoed).toBe('s-1:hello');
    ws.close();

    expect(await wsRefusal(`${wsUrl}/stream`, { authorization: 'Bearer bad' })).toBe(401);
    expect(await wsRefusal(`${wsUrl}/elsewhere`)).toBe(404);
    expect(reasons()).toEqual(['auth', 'unknown-route']);
    // A plain request on an upgrade path is told to upgrade, not counted as an unknown route.
    expect((await fetch(`${http.url}/stream`)).status).toBe(426);
  });

  it('WebSocket: a message over maxPayload closes the socket (1009) and is refused as too-large', async () => {
    const { http, reasons } = make({ maxWsPayload: 1024 });
    const got: string[] = [];
    http.upgrade('/stream', (ws) => ws.on('message', (m) => got.push(String(m))));
    await http.start();
    const ws = new WebSocket(`${http.url!.replace('http', 'ws')}/stream`);
    await wsOpen(ws);
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    ws.send('a'.repeat(100));
    ws.send('b'.repeat(2000));
    expect(await closed).toBe(1009);
    expect(got).toEqual(['a'.repeat(100)]);
    expect(reasons()).toEqual(['too-large']);
  });

  it('a client that never finishes its request headers is answered 408, cut off and counted', async () => {
    const { http, reasons } = make({ headersTimeoutMs: 200 });
    http.route('GET', '/x', (_req, res) => void res.end('x'));
    await http.start();
    const slow = connect({ host: '127.0.0.1', port: Number(new URL(http.url!).port) });
    let answer = '';
    slow.on('data', (d) => (answer += String(d)));
    slow.on('error', () => {});
    await new Promise<void>((resolve) => slow.once('connect', () => resolve()));
    slow.write('GET /x HTTP/1.1\r\nhost: a\r\n');
    await new Promise<void>((resolve) => slow.once('close', () => resolve()));
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(reasons()).toEqual(['timeout']);
  });

  it('close() ends open WebSockets and idle keep-alive connections, and frees the port', async () => {
    const { http } = make();
    http.route('GET', '/x', (_req, res) => void res.end('x'));
    http.upgrade('/stream', () => {});
    await http.start();
    const url = http.url!;
    const ws = new WebSocket(`${url.replace('http', 'ws')}/stream`);
    await wsOpen(ws);
    const wsClosed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
    // A raw socket that sends half a request header: a slow client must not keep close() waiting.
    const port = Number(new URL(url).port);
    const slow = connect({ host: '127.0.0.1', port });
    await new Promise<void>((resolve) => slow.once('connect', () => resolve()));
    slow.write('GET /x HTTP/1.1\r\nhost: a\r\n');
    const slowClosed = new Promise<void>((resolve) => slow.once('close', () => resolve()));
    slow.on('error', () => {});
    await http.close();
    await wsClosed;
    await slowClosed;
    expect(http.url).toBeUndefined();
    await expect(fetch(`${url}/x`)).rejects.toThrow();
  });
});
