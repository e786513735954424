/** The liveness probe of the service timer: any HTTP answer is alive, a closed or silent port is not. */
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Server } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../core/free-port.js';
import { answers, healthzUrl } from './liveness.js';

const servers: Server[] = [];
afterAll(() => servers.forEach((s) => s.close()));

const listen = (s: Server) => new Promise<number>((r) => s.listen(0, '127.0.0.1', () => r((s.address() as { port: number }).port)));

describe('liveness probe', () => {
  it('reaches a wildcard bind on loopback', () => {
    expect(healthzUrl('0.0.0.0', 8080)).toBe('http://127.0.0.1:8080/healthz');
    expect(healthzUrl('::', 8080)).toBe('http://[::1]:8080/healthz');
    expect(healthzUrl('192.168.1.5', 80)).toBe('http://192.168.1.5:80/healthz');
  });

  it('a 503 (stopping) is alive; a closed port and one that never answers are not', async () => {
    const http = createHttpServer((_req, res) => res.writeHead(503).end());
    servers.push(http);
    expect(await answers(`http://127.0.0.1:${await listen(http)}/healthz`, 2000)).toBe(true);
    expect(await answers(`http://127.0.0.1:${await freePort()}/healthz`, 2000)).toBe(false);
    const silent = createServer(() => {});
    servers.push(silent);
    expect(await answers(`http://127.0.0.1:${await listen(silent)}/healthz`, 300)).toBe(false);
  });
});
