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
 * - the frames the port hands to the client (unit id, PDU, CRC), of which the bus takes the one the
 *   client matched to its request: the library reduces the value echoed by FC5 to a boolean, so
 *   0x1234 passes for OFF; on TCP, the MBAP header the port strips from it, whose protocol
 *   identifier the library ignores (Modbus Messaging on TCP/IP Implementation Guide V1.0b §3.1.3:
 *   0 = Modbus); and, on TCP, where the frame lay in the socket's byte stream: the port frames it by
 *   the MBAP length alone, so an answer cut short and completed by the bytes of another frame
 *   (an answer that came too late) passes for whole.
 *
 * Both degrade to doing nothing when the internals are not where they were.
 */
import { Socket } from 'node:net';

interface PortInternals {
  _clientRcvData?: unknown;
  _transactionIdRead?: unknown;
  _transactionIdWrite?: unknown;
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

export interface ReceivedFrame {
  /** Unit id, PDU and CRC, as the port handed them to the client. */
  frame: Buffer;
  /** The transaction id the client matched it by (Modbus TCP; constant on RTU). */
  transactionId?: number;
  /** The MBAP protocol identifier that came with it (Modbus TCP only). */
  protocolId?: number;
  /**
   * Modbus TCP: why the frame cannot be this answer although well formed: it was completed by a
   * later piece of the stream that carried more than the missing bytes, and what follows
   * it there is no MBAP header: the bytes that completed it belong to another frame (the tail of
   * an answer that came too late, dripping or duplicated), glued to an answer cut short.
   */
  spliced?: string;
}

export interface FrameTap {
  /** Call right before sending a request: forgets the frames received so far, returns the transaction id to come. */
  begin(): number | undefined;
  /** The frame the client took as the answer of the request sent with `transactionId` (the first one carrying it). */
  answer(transactionId: number | undefined): ReceivedFrame | undefined;
}

/**
 * Watches the frames the port delivers to the client. TcpPort frames its byte stream by the MBAP
 * length alone and emits each frame while the frame, MBAP header first, is still at the head of its
 * receive buffer; several frames can be emitted from one chunk of the socket, so the answer is
 * looked up by its transaction id, not taken as the last frame seen.
 */
export function tapFrames(client: object): FrameTap {
  let frames: ReceivedFrame[] = [];
  const port = portOf(client);
  const socket = tcpSocketOf(client);
  /** Bytes the port held before the socket chunk being framed, and that chunk's length. */
  let heldBefore = 0;
  let chunkLength = 0;
  // Runs before the port's own listener, which appends the chunk and emits the frames it completes.
  socket?.prependListener('data', (chunk: Buffer) => {
    const rcv = port?._clientRcvData;
    heldBefore = Buffer.isBuffer(rcv) ? rcv.length : 0;
    chunkLength = chunk.length;
  });
  if (typeof port?.on === 'function') {
    port.on('data', (frame) => {
      if (!Buffer.isBuffer(frame)) return;
      const tid = port._transactionIdRead;
      const got: ReceivedFrame = { frame, transactionId: typeof tid === 'number' ? tid : undefined };
      const rcv = port._clientRcvData;
      if (socket && Buffer.isBuffer(rcv) && rcv.length >= 6) {
        got.protocolId = rcv.readUInt16BE(2);
        got.spliced = splice(rcv, rcv.readUInt16BE(4), heldBefore + chunkLength - rcv.length, heldBefore);
      }
      if (frames.length < 64) frames.push(got); // the client takes the first frame of a transaction
    });
  }
  return {
    begin() {
      frames = [];
      const tid = port?._transactionIdWrite;
      return typeof tid === 'number' ? tid : undefined;
    },
    answer: (tid) => frames.find((f) => f.transactionId === tid),
  };
}

/** An MBAP header (Modbus TCP §3.1.3) whose first `bytes.length` bytes (up to 6) could be these. */
function couldStartMbap(bytes: Buffer): boolean {
  if (bytes.length >= 4 && bytes.readUInt16BE(2) !== 0) return false; // protocol id: Modbus
  if (bytes.length >= 5 && bytes[4] !== 0) return false; // length: at most 254 (unit id + PDU)
  // an answer has a unit id, a function code and at least one byte
  if (bytes.length >= 6 && (bytes[5] as number) < 3) return false;
  return true;
}

/**
 * `rcv` holds the frame (MBAP header and `length` bytes) at its head, then what came after it; the
 * frame starts `start` bytes into the buffer as it was when the current chunk was appended to the
 * `held` bytes received earlier.
 */
function splice(rcv: Buffer, length: number, start: number, held: number): string | undefined {
  if (start >= held) return undefined; // the frame came whole in this chunk
  const after = rcv.subarray(6 + length, 6 + length + 6);
  if (after.length === 0 || couldStartMbap(after)) return undefined;
  return `answer completed by a later piece of the stream followed by ${after.toString('hex')}, no MBAP header`;
}
