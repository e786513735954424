/**
 * The two places where the bus reaches into modbus-serial 8.x below its public API, kept here so
 * that a library upgrade breaks one small file (and its tests) rather than the bus:
 *
 * - the port's receive buffer (TcpPort `_clientRcvData`, RTUBufferedPort `_buffer`), which the
 *   library keeps across requests and never empties while the connection lives. Bytes left there
 *   (a truncated frame, junk after a frame, the tail of an answer that came too late) are glued in
 *   front of the next answer, so a TCP stream stays misframed and an RTU line can hand a stale
 *   answer to the next request. With one request in flight per bus, anything received before a
 *   request is sent is stale and can be dropped.
 * - the TCP socket, whose reset the library only records in `isOpen` (no event): watching it lets
 *   the bus notice a reset or a close at once instead of at the next request's timeout; and the
 *   serial port, whose `close` event says why (the adapter was unplugged) where the library's does not.
 * - the frames the port hands to the client (unit id, PDU, CRC), of which the bus keeps the last
 *   one: the library reduces the value echoed by FC5 to a boolean, so 0x1234 passes for OFF; and,
 *   on TCP, the MBAP header the port strips from it, whose protocol identifier the library ignores
 *   (Modbus Messaging on TCP/IP Implementation Guide V1.0b §3.1.3: 0 = Modbus).
 *
 * Both degrade to doing nothing when the internals are not where they were.
 */
import { Socket } from 'node:net';

interface PortInternals {
  _clientRcvData?: unknown;
  _buffer?: unknown;
  _client?: unknown;
  on?: (event: 'data', listener: (frame: unknown) => void) => unknown;
}

function portOf(client: object): PortInternals | undefined {
  const port = (client as { _port?: unknown })._port;
  return typeof port === 'object' && port !== null ? (port as PortInternals) : undefined;
}

/** Drops whatever the port received and has not yet delivered as an answer; returns how many bytes. */
export function flushReceived(client: object): number {
  const port = portOf(client);
  if (!port) return 0;
  for (const field of ['_clientRcvData', '_buffer'] as const) {
    const buf = port[field];
    if (Buffer.isBuffer(buf)) {
      port[field] = Buffer.alloc(0);
      return buf.length;
    }
  }
  return 0;
}

/** The TCP socket under a client connected with connectTCP, if it can be found. */
export function tcpSocketOf(client: object): Socket | undefined {
  const socket = portOf(client)?._client;
  return socket instanceof Socket ? socket : undefined;
}

/** The serialport stream under a client connected with connectRTUBuffered, if it can be found. */
export function serialPortOf(client: object): NodeJS.EventEmitter | undefined {
  const port = portOf(client)?._client as { path?: unknown; prependListener?: unknown } | undefined;
  const serial = port && !(port instanceof Socket) && typeof port.path === 'string';
  if (!serial || typeof port.prependListener !== 'function') return undefined;
  return port as unknown as NodeJS.EventEmitter;
}

export interface LastFrame {
  /** Unit id, PDU and CRC of the last frame the port delivered. */
  frame?: Buffer;
  /** The MBAP protocol identifier that came with it (Modbus TCP only). */
  protocolId?: number;
}

/** Keeps the last frame the port delivered to the client (read it right after a request settles). */
export function tapLastFrame(client: object): () => LastFrame {
  let last: LastFrame = {};
  const port = portOf(client);
  if (typeof port?.on === 'function') {
    port.on('data', (frame) => {
      if (!Buffer.isBuffer(frame)) return;
      // TcpPort emits while the frame, MBAP header first, is still at the head of its buffer.
      const rcv = port._clientRcvData;
      last = { frame, protocolId: Buffer.isBuffer(rcv) && rcv.length >= 4 ? rcv.readUInt16BE(2) : undefined };
    });
  }
  return () => last;
}
