/**
 * The guarded connection stream: what is written to a client in one turn of the event loop
 * reaches the socket as one write (all chunks at once), and what is written later, as another;
 * a QoS 1 PUBLISH goes out as soon as it is written whole.
 */
import { Duplex } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { generate } from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { GuardedStream, PacketScanner } from './packet-limit.js';

/** A socket stand-in that records each write it is handed: one entry per write system call. */
class RecordingSocket extends Duplex {
  readonly writes: string[][] = [];
  override _read(): void {}
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.writes.push([chunk.toString()]);
    cb();
  }
  override _writev(chunks: { chunk: Buffer }[], cb: () => void): void {
    this.writes.push(chunks.map((c) => c.chunk.toString()));
    cb();
  }
}

describe('GuardedStream', () => {
  it('hands the socket what one turn of the event loop wrote in one write', async () => {
    const socket = new RecordingSocket();
    const stream = new GuardedStream(socket, new PacketScanner(1024), () => {});
    stream.write(Buffer.from('a1'));
    stream.write(Buffer.from('a2'));
    stream.write(Buffer.from('a3'));
    expect(socket.writes).toEqual([]); // held until the end of the turn
    await nextTurn();
    expect(socket.writes).toEqual([['a1a2a3']]); // one buffer, one write
    stream.write(Buffer.from('b1'));
    await nextTurn();
    expect(socket.writes).toEqual([['a1a2a3'], ['b1']]);
    stream.destroy();
  });

  it('a QoS 1 PUBLISH goes out once written whole, with what was held before it; QoS 0 waits for the end of the turn', async () => {
    const socket = new RecordingSocket();
    const stream = new GuardedStream(socket, new PacketScanner(1024), () => {});
    const publish = (qos: 0 | 1, payload: string) =>
      generate({ cmd: 'publish', topic: 't', payload, qos, messageId: qos ? 1 : undefined, retain: false, dup: false });
    // the MQTT encoder writes a packet in parts, its one-byte fixed header first
    const writeParts = (packet: Buffer) => {
      stream.write(packet.subarray(0, 1));
      stream.write(packet.subarray(1));
    };
    writeParts(publish(0, 'reading'));
    await Promise.resolve();
    expect(socket.writes).toEqual([]); // QoS 0: held
    writeParts(publish(1, 'alarm'));
    expect(socket.writes).toEqual([]); // not before the packet is whole
    await new Promise((r) => process.nextTick(r));
    expect(socket.writes).toHaveLength(1);
    expect(socket.writes[0]!.join('')).toMatch(/reading.*alarm/s);
    writeParts(publish(0, 'later'));
    await nextTurn();
    expect(socket.writes).toHaveLength(2);
    stream.destroy();
  });
});
