/**
 * What a hostile Modbus slave does with one request, and the bytes (with their timing) that
 * follow from it. Pure: the servers in hostile-modbus-slave.ts carry the plan out.
 *
 * Every kind breaks one rule of Modbus Application Protocol V1.1b3 (MB), Modbus Messaging on
 * TCP/IP Implementation Guide V1.0b (TCP) or Modbus over Serial Line V1.02 (RTU), except `honest`
 * and `split`, which a master must accept, and `bad-values`, a well-formed answer whose register
 * contents no real detector would report (for the driver's validation, not the bus's).
 */
import {
  exceptionPdu,
  honestPdu,
  type ModbusRequest,
  rtuFrame,
  type SlaveModel,
  tcpFrame,
} from './modbus-frames.js';

export type Misbehaviour =
  | { kind: 'honest' }
  /** The honest answer in two writes, `at` bytes then the rest (TCP segments and serial reads split anywhere). */
  | { kind: 'split'; at: number; gapMs: number }
  /** No answer at all (a dead unit, or a gateway that drops the request). */
  | { kind: 'silence' }
  /** Exception response (MB §7) with this code, 0x01-0x0B or any other byte; from another unit id if given. */
  | { kind: 'exception'; code: number; unitId?: number }
  /** The honest data under another function code. */
  | { kind: 'wrong-function'; fc: number }
  /** The honest answer from another unit id. */
  | { kind: 'wrong-unit'; unitId: number }
  /** TCP: the honest answer under another transaction id (TCP §3.1.3). */
  | { kind: 'wrong-transaction'; delta: number }
  /** TCP: the honest answer with a protocol id other than 0 (TCP §3.1.3). */
  | { kind: 'wrong-protocol'; protocolId: number }
  /** TCP: the MBAP length field off by `delta` from the bytes that follow. */
  | { kind: 'wrong-mbap-length'; delta: number }
  /** FC1-4: the byte count field off by `delta` (the frame itself is as long as the honest one). */
  | { kind: 'wrong-byte-count'; delta: number }
  /** FC1-4: `delta` data bytes more or fewer, byte count and envelope consistent with them. */
  | { kind: 'wrong-length'; delta: number }
  /** FC5/6/16: the echo names another address, or another value / quantity. */
  | { kind: 'wrong-echo'; field: 'address' | 'value'; xor: number }
  /** RTU: the honest frame with its CRC broken (RTU §2.5.1.2). */
  | { kind: 'bad-crc' }
  /** Only the first `keep` bytes of the honest frame. */
  | { kind: 'truncated'; keep: number }
  /** The honest frame followed by `extra` bytes of junk (an ADU longer than the 260 / 256 bytes allowed). */
  | { kind: 'oversized'; extra: number; fill: number }
  /** These bytes instead of an answer. */
  | { kind: 'garbage'; bytes: number[] }
  /** The honest frame, one byte every `everyMs` (it keeps dripping into later requests' time). */
  | { kind: 'slow-drip'; everyMs: number }
  /** The honest frame after `ms` (past the master's timeout: it lands in a later request's time). */
  | { kind: 'late'; ms: number }
  /** The honest frame twice. */
  | { kind: 'duplicate' }
  /** FC3/4: a well-formed answer of the right size whose registers hold `word` everywhere. */
  | { kind: 'bad-values'; word: number }
  /** TCP: reset the connection instead of answering (RST). */
  | { kind: 'reset' }
  /** TCP: close the connection instead of answering (FIN). */
  | { kind: 'close' };

export type MisbehaviourKind = Misbehaviour['kind'];

/**
 * Kinds that only mean something on one transport; elsewhere they fall back to `honest` (or to
 * `silence` for the end of a connection on RTU).
 */
export const TCP_ONLY: readonly MisbehaviourKind[] = [
  'wrong-transaction',
  'wrong-protocol',
  'wrong-mbap-length',
  'reset',
  'close',
];
export const RTU_ONLY: readonly MisbehaviourKind[] = ['bad-crc'];

/** Bytes to write after a delay (relative to the previous chunk), then maybe end the connection. */
export interface Plan {
  chunks: { delayMs: number; bytes: Buffer }[];
  end?: 'reset' | 'close';
  /** A complete frame carrying the correct data (or echo) is among the bytes: a master may accept it. */
  honest: boolean;
}

export interface Envelope {
  transport: 'tcp' | 'rtu';
  /** TCP: transaction id of the request. */
  transactionId: number;
}

/** The plan for answering `req` the way `b` says. */
export function planAnswer(req: ModbusRequest, b: Misbehaviour, model: SlaveModel, env: Envelope): Plan {
  const tcp = env.transport === 'tcp';
  if ((tcp && RTU_ONLY.includes(b.kind)) || (!tcp && TCP_ONLY.includes(b.kind))) {
    return b.kind === 'reset' || b.kind === 'close'
      ? { chunks: [], honest: false }
      : planAnswer(req, { kind: 'honest' }, model, env);
  }
  const honest = honestPdu(req, model);
  const frame = (pdu: Uint8Array, unitId = req.unitId) =>
    tcp ? tcpFrame(env.transactionId, unitId, pdu) : rtuFrame(unitId, pdu);
  const now = (bytes: Buffer, honest = false): Plan => ({ chunks: [{ delayMs: 0, bytes }], honest });
  const asHonest = () => now(frame(honest), true);
  const isRead = req.fc >= 1 && req.fc <= 4 && honest[0] === req.fc;

  switch (b.kind) {
    case 'honest':
      return asHonest();
    case 'split': {
      const f = frame(honest);
      const at = Math.max(1, Math.min(f.length - 1, b.at));
      return {
        chunks: [
          { delayMs: 0, bytes: f.subarray(0, at) },
          { delayMs: b.gapMs, bytes: f.subarray(at) },
        ],
        honest: true,
      };
    }
    case 'silence':
      return { chunks: [], honest: false };
    case 'exception':
      return now(frame(exceptionPdu(req.fc, b.code), b.unitId ?? req.unitId));
    case 'wrong-function': {
      const fc = b.fc === req.fc ? (b.fc + 1) & 0x7f : b.fc;
      return now(frame(Buffer.concat([Buffer.from([fc]), honest.subarray(1)])));
    }
    case 'wrong-unit':
      return now(frame(honest, b.unitId === req.unitId ? (b.unitId + 1) & 0xff : b.unitId));
    case 'wrong-transaction':
      return now(tcpFrame(env.transactionId + (b.delta || 1), req.unitId, honest));
    case 'wrong-protocol': // the right data under a protocol id a master should discard (TCP §3.1.3)
      return now(tcpFrame(env.transactionId, req.unitId, honest, { protocolId: b.protocolId || 1 }), true);
    case 'wrong-mbap-length':
      return now(
        tcpFrame(env.transactionId, req.unitId, honest, { length: honest.length + 1 + (b.delta || 1) }),
      );
    case 'wrong-byte-count': {
      if (!isRead) return asHonest();
      const pdu = Buffer.from(honest);
      pdu[1] = (pdu[1] as number) + (b.delta || 1);
      return now(frame(pdu));
    }
    case 'wrong-length': {
      if (!isRead) return asHonest();
      const data = honest.subarray(2);
      const n = Math.max(0, Math.min(250, data.length + (b.delta || 1)));
      const body = Buffer.alloc(n, 0x5a);
      data.copy(body, 0, 0, Math.min(n, data.length));
      return now(frame(Buffer.concat([Buffer.from([req.fc, n]), body])));
    }
    case 'wrong-echo': {
      if (![5, 6, 15, 16].includes(req.fc) || honest[0] !== req.fc) return asHonest();
      const pdu = Buffer.from(honest);
      const at = b.field === 'address' ? 1 : 3;
      pdu.writeUInt16BE(pdu.readUInt16BE(at) ^ (b.xor || 1), at);
      return now(frame(pdu));
    }
    case 'bad-crc': {
      const f = frame(honest);
      f[f.length - 1] = (f[f.length - 1] as number) ^ 0xff;
      return now(f);
    }
    case 'truncated': {
      const f = frame(honest);
      return now(f.subarray(0, Math.max(0, Math.min(f.length - 1, b.keep))));
    }
    case 'oversized':
      return now(Buffer.concat([frame(honest), Buffer.alloc(b.extra, b.fill)]), true);
    case 'garbage':
      return now(Buffer.from(b.bytes));
    case 'slow-drip':
      return {
        chunks: [...frame(honest)].map((byte) => ({ delayMs: b.everyMs, bytes: Buffer.from([byte]) })),
        honest: true,
      };
    case 'late':
      return { chunks: [{ delayMs: b.ms, bytes: frame(honest) }], honest: true };
    case 'duplicate':
      return {
        chunks: [
          { delayMs: 0, bytes: frame(honest) },
          { delayMs: 1, bytes: frame(honest) },
        ],
        honest: true,
      };
    case 'bad-values': {
      if (!(req.fc === 3 || req.fc === 4) || honest[0] !== req.fc) return asHonest();
      const body = Buffer.alloc(honest.length - 2);
      for (let i = 0; i + 1 < body.length; i += 2) body.writeUInt16BE(b.word & 0xffff, i);
      return now(frame(Buffer.concat([honest.subarray(0, 2), body])));
    }
    case 'reset':
    case 'close':
      return { chunks: [], end: b.kind, honest: false };
  }
}
