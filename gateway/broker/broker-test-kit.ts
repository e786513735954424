/**
 * Helpers shared by the broker's tests and its fuzz target: raw MQTT over sockets on 127.0.0.1,
 * a log capture, and bounded waits. Not part of the gateway.
 */
import { createConnection, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import mqttPacket, { type Packet } from 'mqtt-packet';
import { createLogger, type Logger } from '../core/logger.js';
import type { RunningBroker } from './broker.js';

export function captureLog(level = 'debug'): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const log = createLogger(
    level,
    new Writable({
      write(chunk, _enc, cb) {
        lines.push(String(chunk));
        cb();
      },
    }),
  );
  return { log, lines };
}

export function tcpPort(broker: RunningBroker): number {
  return broker.listeners.find((l) => l.type === 'tcp')!.port;
}

export function wsPort(broker: RunningBroker): number {
  return broker.listeners.find((l) => l.type === 'ws')!.port;
}

/** Polls `cond` every 10 ms, at most `tries` times; returns whether it became true. */
export async function eventually(cond: () => boolean, tries = 500): Promise<boolean> {
  for (let i = 0; i < tries; i++) {
    if (cond()) return true;
    await sleep(10);
  }
  return cond();
}

/** A raw TCP connection to the broker, optionally from another loopback address (127.0.0.x). */
export function rawSocket(port: number, localAddress?: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ port, host: '127.0.0.1', ...(localAddress ? { localAddress } : {}) });
    socket.once('connect', () => {
      socket.off('error', reject);
      // The broker may reset the connection while the test still writes: that is the point.
      socket.on('error', () => {});
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

export function whenSocketClosed(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.destroyed) return resolve();
    socket.once('close', () => resolve());
  });
}

/** Reads MQTT packets from a raw socket. */
export function packetReader(socket: Socket): { packets: Packet[]; next(cmd: string): Promise<Packet> } {
  const packets: Packet[] = [];
  const waiters: { cmd: string; resolve: (p: Packet) => void; reject: (e: Error) => void }[] = [];
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  parser.on('packet', (p: Packet) => {
    const i = waiters.findIndex((w) => w.cmd === p.cmd);
    if (i >= 0) waiters.splice(i, 1)[0]!.resolve(p);
    else packets.push(p);
  });
  parser.on('error', () => socket.destroy());
  socket.on('data', (d) => parser.parse(d));
  socket.on('error', () => {});
  socket.once('close', () => {
    for (const w of waiters.splice(0)) w.reject(new Error(`connection closed before ${w.cmd}`));
  });
  return {
    packets,
    next(cmd) {
      const i = packets.findIndex((p) => p.cmd === cmd);
      if (i >= 0) return Promise.resolve(packets.splice(i, 1)[0]!);
      if (socket.destroyed) return Promise.reject(new Error(`connection closed before ${cmd}`));
      return new Promise((resolve, reject) => waiters.push({ cmd, resolve, reject }));
    },
  };
}

export function connectPacket(o: {
  clientId: string;
  username?: string;
  password?: string;
  clean?: boolean;
  keepalive?: number;
}): Buffer {
  return mqttPacket.generate({
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: 4,
    clean: o.clean ?? true,
    keepalive: o.keepalive ?? 60,
    clientId: o.clientId,
    ...(o.username !== undefined ? { username: o.username } : {}),
    ...(o.password !== undefined ? { password: Buffer.from(o.password) } : {}),
  });
}

/** Connects with a raw socket and returns it with the CONNACK return code. */
export async function rawLogin(
  port: number,
  o: Parameters<typeof connectPacket>[0],
  localAddress?: string,
): Promise<{ socket: Socket; returnCode: number; sessionPresent: boolean; reader: ReturnType<typeof packetReader> }> {
  const socket = await rawSocket(port, localAddress);
  const reader = packetReader(socket);
  socket.write(connectPacket(o));
  const connack = (await reader.next('connack')) as mqttPacket.IConnackPacket;
  return {
    socket,
    returnCode: connack.returnCode ?? -1,
    sessionPresent: connack.sessionPresent,
    reader,
  };
}

/** The fixed header (§2.2) of a packet of type `type` announcing `remaining` bytes, and nothing else. */
export function fixedHeader(type: number, remaining: number, flags = 0): Buffer {
  const bytes = [(type << 4) | flags];
  let x = remaining;
  do {
    let b = x % 128;
    x = Math.floor(x / 128);
    if (x > 0) b |= 0x80;
    bytes.push(b);
  } while (x > 0);
  return Buffer.from(bytes);
}

/** The largest remaining length MQTT can express (§2.2.3): 268,435,455 bytes, about 256 MB. */
export const MAX_REMAINING_LENGTH = 268_435_455;

/**
 * Writes up to `totalBytes` of filler after whatever was sent, in 64 KB chunks, stopping when the
 * peer closes the connection; resolves with the bytes the socket accepted.
 */
export async function streamFiller(socket: Socket, totalBytes: number): Promise<number> {
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  let written = 0;
  let wake: (() => void) | undefined;
  const onClose = () => wake?.();
  socket.once('close', onClose);
  while (written < totalBytes && !socket.destroyed && socket.writable) {
    const ok = socket.write(chunk);
    written += chunk.length;
    if (!ok) {
      await new Promise<void>((resolve) => {
        wake = resolve;
        socket.once('drain', resolve);
      });
      socket.removeAllListeners('drain');
    }
  }
  socket.off('close', onClose);
  return written;
}

export function rssMB(): number {
  return process.memoryUsage.rss() / (1024 * 1024);
}
