/**
 * The listener of one driver instance (`listen:` in its config): HTTP routes and WebSocket
 * upgrades for devices that push, over TLS (HTTPS and WSS, TLS 1.2 at least) when `listen.tls`
 * names a server certificate. Everything a device sends is bounded (header and request
 * timeouts, body and message sizes) and every refusal is counted through `refused`.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import { type WebSocket, WebSocketServer } from 'ws';
import type { Logger } from '../core/logger.js';
import type { DriverHttp, ListenSettings, ListenTls, RouteHandler } from './driver-api.js';

export interface DriverHttpOptions {
  driver: string;
  listen?: ListenSettings;
  refused: (reason: string, detail?: Record<string, unknown>) => void;
  log: Logger;
  /** Largest WebSocket message (default 64 KiB); a larger one closes the socket (1009) and is refused. */
  maxWsPayload?: number;
  /** Time to receive the request headers (default 10 s): a slow client cannot hold a socket. */
  headersTimeoutMs?: number;
  /** Time to receive the whole request (default 30 s). */
  requestTimeoutMs?: number;
  /** Open connections at most (default 1024). */
  maxConnections?: number;
}

export type RunningDriverHttp = DriverHttp & {
  start(): Promise<void>;
  close(): Promise<void>;
  readonly url?: string;
};

/** The rejection of `body()` over its limit: already answered 413, so the route must not answer again. */
export class BodyTooLarge extends Error {
  override readonly name = 'BodyTooLarge';
}

interface Route {
  method: string;
  path: string | RegExp;
  handler: RouteHandler;
}
interface Upgrade {
  path: string | RegExp;
  onSocket: (ws: WebSocket, req: IncomingMessage, url: URL) => void;
  accept?: (req: IncomingMessage, url: URL) => string | undefined | Promise<string | undefined>;
}

const PEM_HINT: Record<keyof ListenTls, string> = {
  certFile: 'set listen.tls.certFile to the server certificate (PEM), readable by the gateway',
  keyFile: 'set listen.tls.keyFile to the private key of that certificate (PEM, unencrypted), readable by the gateway',
  caFile: 'set listen.tls.caFile to the intermediate CA certificates (PEM), or remove it',
};

function readPem(driver: string, tls: ListenTls, field: keyof ListenTls): Buffer {
  const path = tls[field]!;
  try {
    return readFileSync(path);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new Error(`driver ${driver}: cannot read listen.tls.${field} "${path}" (${e.code ?? e.message}); ${PEM_HINT[field]}`, {
      cause: err,
    });
  }
}

/** The TLS options of a listener, its files read and checked now: an unusable file is a clear error at start. */
export function tlsOptions(driver: string, tls: ListenTls): SecureContextOptions {
  const cert = readPem(driver, tls, 'certFile');
  const key = readPem(driver, tls, 'keyFile');
  // The chain goes after the server certificate (what node's `cert` takes for a chain).
  const chain = tls.caFile ? Buffer.concat([cert, Buffer.from('\n'), readPem(driver, tls, 'caFile')]) : cert;
  const options: SecureContextOptions = { cert: chain, key, minVersion: 'TLSv1.2' };
  try {
    createSecureContext(options);
  } catch (err) {
    throw new Error(
      `driver ${driver}: listen.tls: "${tls.certFile}" and "${tls.keyFile}" are not a usable certificate and private key (${(err as Error).message}); ` +
        'certFile must hold the PEM server certificate (then its intermediates, or put them in caFile) and keyFile its unencrypted PEM private key',
      { cause: err },
    );
  }
  return options;
}

const matches = (path: string | RegExp, pathname: string) =>
  typeof path === 'string' ? path === pathname : path.test(pathname);

function parseUrl(req: IncomingMessage): URL | undefined {
  try {
    return new URL(req.url ?? '/', 'http://device.invalid');
  } catch {
    return undefined;
  }
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

/** Answers an upgrade request on the raw socket (no HTTP response object exists for it). */
function rejectUpgrade(socket: Duplex, status: number, text: string): void {
  if (socket.destroyed) return;
  const body = JSON.stringify({ error: text });
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

export function createDriverHttp(o: DriverHttpOptions): RunningDriverHttp {
  const routes: Route[] = [];
  const upgrades: Upgrade[] = [];
  const responses = new WeakMap<IncomingMessage, ServerResponse>();
  const sockets = new Set<Socket | Duplex>();
  const log = o.log;
  let server: Server | undefined;
  let wss: WebSocketServer | undefined;
  let url: string | undefined;

  const needListen = (what: string) => {
    if (!o.listen)
      throw new Error(`driver ${o.driver} has no listen: in its config; add listen: {host, port} to use ${what}`);
  };

  async function onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const u = parseUrl(req);
    const method = (req.method ?? 'GET').toUpperCase();
    if (!u) {
      o.refused('shape', { what: 'request target' });
      return json(res, 400, { error: 'bad request target' });
    }
    const onPath = routes.filter((r) => matches(r.path, u.pathname));
    const route = onPath.find((r) => r.method === '*' || r.method.toUpperCase() === method);
    if (!route) {
      if (onPath.length > 0) {
        const allow = [...new Set(onPath.map((r) => r.method.toUpperCase()))].join(', ');
        return json(res, 405, { error: 'method not allowed' }, { allow });
      }
      if (upgrades.some((x) => matches(x.path, u.pathname)))
        return json(res, 426, { error: 'WebSocket upgrade required' }, { upgrade: 'websocket' });
      o.refused('unknown-route', { method, path: u.pathname.slice(0, 200) });
      return json(res, 404, { error: 'not found' });
    }
    responses.set(req, res);
    try {
      await route.handler(req, res, u);
    } catch (err) {
      if (err instanceof BodyTooLarge) return;
      log.error({ err, method, path: u.pathname }, 'driver route failed');
      if (!res.headersSent) json(res, 500, { error: 'internal error' });
      else res.destroy();
    }
  }

  async function onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => {});
    const u = parseUrl(req);
    const up = u && upgrades.find((x) => matches(x.path, u.pathname));
    if (!u || !up) {
      o.refused('unknown-route', { method: 'UPGRADE', path: u?.pathname.slice(0, 200) });
      return rejectUpgrade(socket, 404, 'Not Found');
    }
    let reason: string | undefined;
    try {
      reason = await up.accept?.(req, u);
    } catch (err) {
      log.error({ err, path: u.pathname }, 'driver upgrade check failed');
      return rejectUpgrade(socket, 500, 'Internal Server Error');
    }
    if (reason !== undefined) {
      o.refused(reason, { path: u.pathname.slice(0, 200) });
      return rejectUpgrade(socket, 401, 'Unauthorized');
    }
    if (socket.destroyed || !wss) return;
    wss.handleUpgrade(req, socket, head, (ws) => {
      // ws emits 'error' on a bad frame or an oversized message; unhandled it would end the process.
      ws.on('error', (err: Error & { code?: string }) => {
        if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') o.refused('too-large', { path: u.pathname });
        else if (err.code?.startsWith('WS_ERR_')) o.refused('shape', { path: u.pathname, code: err.code });
        else log.debug({ err }, 'driver WebSocket error');
      });
      try {
        up.onSocket(ws, req, u);
      } catch (err) {
        log.error({ err, path: u.pathname }, 'driver WebSocket handler failed');
        ws.terminate();
      }
    });
  }

  return {
    get url() {
      return url;
    },

    route(method, path, handler) {
      needListen('ctx.http.route');
      routes.push({ method, path, handler });
    },

    upgrade(path, onSocket, accept) {
      needListen('ctx.http.upgrade');
      upgrades.push({ path, onSocket, accept });
    },

    body(req, maxBytes) {
      return new Promise<Buffer>((resolve, reject) => {
        const res = responses.get(req);
        const tooLarge = (bytes: number) => {
          o.refused('too-large', { bytes, max: maxBytes });
          if (res) {
            // Closing after the answer stops the client's upload instead of reading it to the end.
            json(res, 413, { error: `body larger than ${maxBytes} bytes` }, { connection: 'close' });
          } else req.destroy();
          reject(new BodyTooLarge(`body larger than ${maxBytes} bytes`));
        };
        const declared = Number(req.headers['content-length']);
        if (Number.isFinite(declared) && declared > maxBytes) return tooLarge(declared);
        const chunks: Buffer[] = [];
        let size = 0;
        let done = false;
        const onData = (c: Buffer) => {
          if (done) return;
          size += c.length;
          if (size > maxBytes) {
            done = true;
            req.off('data', onData);
            tooLarge(size);
            return;
          }
          chunks.push(c);
        };
        req.on('data', onData);
        req.once('end', () => {
          if (!done) resolve(Buffer.concat(chunks, size));
          done = true;
        });
        req.once('error', (err) => {
          if (!done) reject(err);
          done = true;
        });
        req.once('close', () => {
          if (!done && !req.complete) reject(new Error('request aborted'));
          done = true;
        });
      });
    },

    async start() {
      if (!o.listen || server) return;
      const { host, port } = o.listen;
      wss = new WebSocketServer({ noServer: true, maxPayload: o.maxWsPayload ?? 64 * 1024 });
      const headersTimeout = o.headersTimeoutMs ?? 10_000;
      const options = {
        headersTimeout,
        requestTimeout: o.requestTimeoutMs ?? 30_000,
        // How often node looks for requests past these times (its default, 30 s, would triple them).
        connectionsCheckingInterval: Math.max(50, Math.min(5_000, Math.floor(headersTimeout / 4))),
        keepAliveTimeout: 5_000,
      };
      const tls = o.listen.tls;
      // An HTTPS server is node's HTTP server on TLS sockets: the same requests, upgrades and limits.
      const srv: Server = tls
        ? (createHttpsServer({ ...options, ...tlsOptions(o.driver, tls) }) as unknown as Server)
        : createServer(options);
      // A failed TLS handshake (a plain-HTTP client, one not trusting the certificate, an old TLS
      // version): node's HTTPS server passes it on as a client error, handled below.
      const handshakeFailed = new WeakSet<Duplex>();
      if (tls) srv.prependListener('tlsClientError', (_err: Error, socket: Duplex) => handshakeFailed.add(socket));
      srv.maxConnections = o.maxConnections ?? 1024;
      srv.on('connection', (s: Socket) => {
        sockets.add(s);
        s.once('close', () => sockets.delete(s));
      });
      srv.on('request', (req: IncomingMessage, res: ServerResponse) => void onRequest(req, res));
      srv.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => void onUpgrade(req, socket, head));
      srv.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
        if (handshakeFailed.has(socket)) {
          o.refused('tls', { code: err.code });
          return void socket.destroy();
        }
        if (err.code === 'ECONNRESET') return void socket.destroy();
        const timeout = err.code === 'ERR_HTTP_REQUEST_TIMEOUT';
        o.refused(timeout ? 'timeout' : 'shape', { what: 'http', code: err.code });
        rejectUpgrade(socket, timeout ? 408 : 400, timeout ? 'Request Timeout' : 'Bad Request');
      });
      await new Promise<void>((resolve, reject) => {
        srv.once('error', reject);
        srv.listen({ host, port }, () => {
          srv.off('error', reject);
          resolve();
        });
      });
      srv.on('error', (err) => log.error({ err }, 'driver listener error'));
      server = srv;
      const addr = srv.address();
      const bound = typeof addr === 'object' && addr ? addr.port : port;
      url = `${tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${bound}`;
      log.info({ url }, 'driver listening');
    },

    async close() {
      const srv = server;
      server = undefined;
      url = undefined;
      if (!srv) return;
      for (const ws of wss?.clients ?? []) ws.terminate();
      wss?.close();
      const closed = new Promise<void>((resolve) => srv.close(() => resolve()));
      srv.closeAllConnections();
      // Upgraded sockets (and those still waiting for `accept`) are no longer the server's to close.
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}
