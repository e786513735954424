import { Duplex } from 'node:stream';

/**
 * Packet size limit at the socket, before any byte reaches aedes (whose parser, mqtt-packet, buffers a
 * packet of any announced size). The fixed header of each packet (§2.2) is scanned as bytes arrive:
 * the packet type, then the remaining length, a variable-length integer of 1 to 4 bytes (§2.2.3).
 * As soon as the announced size exceeds the limit the connection is refused, without buffering the body.
 */

/** Why a connection was closed by the scanner. */
export type PacketViolation =
  | { reason: 'packet-too-large'; announced: number; limit: number; packetType: number }
  | { reason: 'malformed-length' }
  | { reason: 'first-packet-not-connect'; packetType: number };

const CONNECT = 1;

// Scanner states: reading the type byte, the remaining length, or skipping the body.
const State = { Type: 0, Length: 1, Body: 2 } as const;
type State = (typeof State)[keyof typeof State];

/** Incremental fixed-header scanner: keeps 4 numbers, never the bytes. */
export class PacketScanner {
  /** Current limit on a whole packet (fixed header included), in bytes; may be raised after login. */
  limit: number;
  private state: State = State.Type;
  private packetType = 0;
  private length = 0;
  private multiplier = 1;
  private lengthBytes = 0;
  private left = 0;
  private packets = 0;

  constructor(limit: number) {
    this.limit = limit;
  }

  /** Packets whose fixed header was read completely. */
  get packetsSeen(): number {
    return this.packets;
  }

  /** Scans the next bytes of the stream; returns the first violation (the connection must then be closed). */
  scan(chunk: Uint8Array): PacketViolation | undefined {
    let i = 0;
    while (i < chunk.length) {
      if (this.state === State.Body) {
        const n = Math.min(this.left, chunk.length - i);
        i += n;
        this.left -= n;
        if (this.left === 0) this.state = State.Type;
        continue;
      }
      const byte = chunk[i++]!;
      if (this.state === State.Type) {
        this.packetType = byte >> 4;
        // [MQTT-3.1.0-1]: the first packet from the client must be CONNECT.
        if (this.packets === 0 && this.packetType !== CONNECT) {
          return { reason: 'first-packet-not-connect', packetType: this.packetType };
        }
        this.state = State.Length;
        this.length = 0;
        this.multiplier = 1;
        this.lengthBytes = 0;
        continue;
      }
      // State.Length: §2.2.3, 7 bits per byte, least significant first, continuation bit 0x80.
      this.length += (byte & 0x7f) * this.multiplier;
      this.multiplier *= 128;
      this.lengthBytes++;
      if (byte & 0x80) {
        if (this.lengthBytes === 4) return { reason: 'malformed-length' };
        continue;
      }
      const total = 1 + this.lengthBytes + this.length;
      if (total > this.limit) {
        return { reason: 'packet-too-large', announced: total, limit: this.limit, packetType: this.packetType };
      }
      this.packets++;
      this.left = this.length;
      this.state = this.left === 0 ? State.Type : State.Body;
    }
    return undefined;
  }
}

/**
 * The stream aedes reads and writes instead of the socket (or WebSocket stream): passes bytes through
 * unchanged after scanning them, propagates back-pressure both ways, and destroys the socket on a
 * violation before the offending bytes are handed on.
 */
export class GuardedStream extends Duplex {
  private pendingWrite: ((err?: Error | null) => void) | undefined;
  /** Corked until the end of this turn of the event loop (see `write`). */
  private holding = false;

  constructor(
    private readonly inner: Duplex,
    readonly scanner: PacketScanner,
    onViolation: (v: PacketViolation) => void,
  ) {
    super({ allowHalfOpen: false });
    inner.on('data', (chunk: Buffer) => {
      if (this.destroyed) return;
      const violation = scanner.scan(chunk);
      if (violation) {
        inner.pause();
        onViolation(violation);
        inner.destroy();
        this.destroy();
        return;
      }
      if (!this.push(chunk)) inner.pause();
    });
    inner.on('end', () => this.push(null));
    inner.on('error', (err) => this.destroy(err));
    inner.on('close', () => this.destroy());
    inner.on('drain', () => {
      const cb = this.pendingWrite;
      this.pendingWrite = undefined;
      cb?.();
    });
  }

  /**
   * Everything written to this connection in one turn of the event loop (the packets of a batch of
   * events, each written by the MQTT encoder in parts) goes out in one socket write, at the end of
   * the turn: one system call per connection and turn instead of one per packet. A QoS 1 or 2
   * PUBLISH (on the local bus: alarms and state changes) goes out as soon as it is written whole,
   * with what is held before it: aedes writes each delivery from its own `setImmediate`, whose
   * turn ends only after the next turn's work (under load, tens of ms).
   */
  override write(chunk: unknown, encoding?: BufferEncoding | ((err?: Error | null) => void), cb?: (err?: Error | null) => void): boolean {
    if (!this.holding && !this.destroyed) {
      this.holding = true;
      this.cork();
      setImmediate(() => this.release());
    }
    const ok = super.write(chunk, encoding as BufferEncoding, cb);
    // The encoder writes a PUBLISH's parts in this call stack, its fixed header first (MQTT §3.3.1).
    if (this.holding && isQosPublishHeader(chunk)) process.nextTick(() => this.release());
    return ok;
  }

  private release(): void {
    if (!this.holding) return;
    this.holding = false;
    this.uncork();
  }

  override _read(): void {
    this.inner.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.inner.destroyed) return cb(closedError());
    if (this.inner.write(chunk)) cb();
    else this.pendingWrite = cb;
  }

  /** The chunks queued since the last write (a packet's parts, several packets) go out in one socket write. */
  override _writev(chunks: { chunk: Buffer }[], cb: (err?: Error | null) => void): void {
    if (this.inner.destroyed) return cb(closedError());
    // One buffer: the socket then keeps one entry and the kernel copies one piece, not one per packet part.
    const ok = this.inner.write(chunks.length === 1 ? chunks[0]!.chunk : Buffer.concat(chunks.map((c) => c.chunk)));
    if (ok) cb();
    else this.pendingWrite = cb;
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.inner.end();
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    const pending = this.pendingWrite;
    this.pendingWrite = undefined;
    pending?.(err ?? closedError());
    this.inner.destroy();
    cb(err);
  }
}

/** Writes after the peer went away: a network condition (has a code), not a protocol error. */
function closedError(): Error {
  return Object.assign(new Error('connection closed'), { code: 'ERR_STREAM_DESTROYED' });
}

/** The one-byte fixed header of a PUBLISH with QoS 1 or 2 (MQTT §3.3.1: type 3, QoS in bits 1-2). */
function isQosPublishHeader(chunk: unknown): boolean {
  return Buffer.isBuffer(chunk) && chunk.length === 1 && chunk[0]! >> 4 === 3 && (chunk[0]! & 0x06) !== 0;
}
