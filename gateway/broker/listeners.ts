import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import { type AddressInfo, createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createWebSocketStream, WebSocketServer } from 'ws';
import { GatewayError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { sourceOf } from './connection-limits.js';

/**
 * The local broker's listeners: MQTT over TCP, and MQTT over WebSocket (§6) on `/mqtt`. Every
 * accepted socket is first offered to `accept` (the connection limits); the byte stream of one it
 * admits is handed to `handle` with its source address.
 */

export interface ListenerHooks {
  /** Counts and tracks an accepted socket; false when it is refused (and already destroyed). */
  accept(socket: Socket): boolean;
  /** Hands the byte stream of an admitted connection to the broker. */
  handle(stream: Duplex, source: string, req?: IncomingMessage): void;
}

export function tcpServer(hooks: ListenerHooks): NetServer {
  return createNetServer((socket) => {
    if (!hooks.accept(socket)) return;
    // Alarms must not wait for Nagle's algorithm to fill a segment (RFC 896) on a local bus.
    socket.setNoDelay(true);
    hooks.handle(socket, sourceOf(socket));
  });
}

/** MQTT 3.1.1 §6: MQTT over WebSocket, binary frames, sub-protocol "mqtt". */
export function webSocketServer(
  hooks: ListenerHooks,
  maxPacketBytes: number,
  log: Logger,
): { server: HttpServer; wss: WebSocketServer } {
  const server = createHttpServer((_req, res) => {
    res.writeHead(426, { 'content-type': 'text/plain' }).end('MQTT over WebSocket: connect to /mqtt\n');
  });
  server.on('connection', (socket: Socket) => hooks.accept(socket));
  const wss = new WebSocketServer({
    server,
    path: '/mqtt',
    // One WebSocket message is at most one packet's worth; the broker's packet check applies too.
    maxPayload: maxPacketBytes,
    handleProtocols: (protocols) => (protocols.has('mqtt') ? 'mqtt' : false),
  });
  wss.on('connection', (ws, req) => hooks.handle(createWebSocketStream(ws), sourceOf(req.socket), req));
  wss.on('error', (err) => log.error({ err }, 'websocket listener error'));
  return { server, wss };
}

/** Listens on host:port; resolves to the port bound (the one given, or the one chosen for 0). */
export function listen(server: NetServer | HttpServer, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) =>
      reject(
        new GatewayError(
          'BROKER_LISTEN',
          `cannot listen on ${host}:${port}: ${err.message}`,
          'is the port in use? see broker.listeners',
          {
            cause: err,
          },
        ),
      );
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}
