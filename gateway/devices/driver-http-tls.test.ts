import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { captureLog } from '../broker/broker-test-kit.js';
import { waitFor } from '../testing/wait-for.js';
import { makeCerts } from '../uplink/testing/mosquitto.js';
import type { ListenTls } from './driver-api.js';
import { createDriverHttp, type RunningDriverHttp } from './driver-http.js';

const dir = mkdtempSync(join(tmpdir(), 'driver-tls-'));
const certs = makeCerts(dir);
const ca = readFileSync(certs.caFile);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const open: RunningDriverHttp[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((h) => h.close()));
});

function make(tls: ListenTls = { certFile: certs.serverCert, keyFile: certs.serverKey }) {
  const refusals: string[] = [];
  const http = createDriverHttp({
    driver: 'piles',
    listen: { host: '127.0.0.1', port: 0, tls },
    refused: (reason) => refusals.push(reason),
    log: captureLog('silent').log,
  });
  open.push(http);
  return { http, refusals };
}

/** Opens a WebSocket; resolves 'open' or the client's error code. */
function connect(url: string, o: { ca?: Buffer } = {}): Promise<string> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { ...o, handshakeTimeout: 10_000 });
    ws.once('open', () => {
      resolve('open');
      ws.close();
    });
    ws.once('unexpected-response', (_req, res) => resolve(`HTTP ${res.statusCode}`));
    ws.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

describe('driver listener over TLS (listen.tls)', () => {
  it('serves HTTPS and WSS to a client trusting the CA; a plain ws:// client and one not trusting the CA fail, counted', async () => {
    const { http, refusals } = make();
    http.route('GET', '/status', (_req, res) => void res.end('up'));
    http.upgrade('/ws', (ws) => ws.send('hello'));
    await http.start();
    expect(http.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const { port } = new URL(http.url!);

    const body = await new Promise<string>((resolve, reject) =>
      get(`${http.url}/status`, { ca }, (res) => {
        res.setEncoding('utf8');
        let text = '';
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve(text));
      }).on('error', reject),
    );
    expect(body).toBe('up');
    expect(await connect(`wss://127.0.0.1:${port}/ws`, { ca })).toBe('open');
    expect(await connect(`wss://localhost:${port}/ws`, { ca })).toBe('open');

    expect(await connect(`ws://127.0.0.1:${port}/ws`)).not.toBe('open');
    expect(await connect(`wss://127.0.0.1:${port}/ws`, { ca: readFileSync(certs.wrongCaFile) })).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    expect(await connect(`wss://127.0.0.1:${port}/ws`)).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    // The server sees a client's refusal after the client does.
    await waitFor('three failed handshakes counted', () => refusals.length === 3);
    expect(refusals).toEqual(['tls', 'tls', 'tls']);
  });

  it('sends the caFile chain after the server certificate', async () => {
    const { http } = make({ certFile: certs.serverCert, keyFile: certs.serverKey, caFile: certs.caFile });
    http.upgrade('/ws', () => {});
    await http.start();
    expect(await connect(`${http.url!.replace('https', 'wss')}/ws`, { ca })).toBe('open');
  });

  it('a file it cannot read or use fails the start, saying which file and how to fix it', async () => {
    const missing = join(dir, 'nope.key');
    await expect(make({ certFile: certs.serverCert, keyFile: missing }).http.start()).rejects.toThrow(
      `driver piles: cannot read listen.tls.keyFile "${missing}" (ENOENT); set listen.tls.keyFile to the private key of that certificate (PEM, unencrypted)`,
    );
    const notPem = join(dir, 'not-a-cert.pem');
    writeFileSync(notPem, 'hello\n');
    await expect(make({ certFile: notPem, keyFile: certs.serverKey }).http.start()).rejects.toThrow(
      /listen\.tls: ".*not-a-cert\.pem" and ".*server\.key" are not a usable certificate and private key \(.+\); certFile must hold the PEM server certificate/,
    );
    // A key that is not the certificate's.
    await expect(make({ certFile: certs.serverCert, keyFile: certs.clientKey }).http.start()).rejects.toThrow(/not a usable certificate and private key/);
  });
});
