/**
 * Byte-level Modbus framing for simulators that must control every byte they send (the hostile
 * slave): request parsing, honest response PDUs, and the TCP (MBAP) and RTU (CRC) envelopes.
 * Pure functions, no I/O.
 *
 * References: Modbus Application Protocol V1.1b3 (MBAP §4.1, function codes §6, exceptions §7),
 * Modbus Messaging on TCP/IP Implementation Guide V1.0b §3.1.3 (MBAP header), Modbus over
 * Serial Line V1.02 §2.5.1.2 (RTU frame) and §6.2.2 (CRC-16).
 */

export interface ModbusRequest {
  unitId: number;
  /** Function code (Modbus Application Protocol V1.1b3 §6). */
  fc: number;
  /** Starting address, or the address of a single write. */
  address: number;
  /** Quantity for reads and FC16; the written value for FC5 (0xFF00 / 0x0000) and FC6. */
  quantity: number;
  /** FC16: the register values written. */
  values?: number[];
  /** The PDU as received (function code first). */
  pdu: Buffer;
}

/** Register and bit contents a slave answers with; `undefined` = illegal data address (exception 02). */
export interface SlaveModel {
  read(unitId: number, fc: 1 | 2 | 3 | 4, address: number, quantity: number): number[] | undefined;
}

/**
 * A deterministic model where every address exists: register `a` of unit `u` holds
 * (u × 1009 + a × 31) mod 65536, and bit `a` is set when (u + a) mod 3 = 0.
 */
export const patternModel: SlaveModel = {
  read(unitId, fc, address, quantity) {
    const word = (a: number) => (unitId * 1009 + a * 31) & 0xffff;
    const bit = (a: number) => ((unitId + a) % 3 === 0 ? 1 : 0);
    return Array.from({ length: quantity }, (_, i) => (fc === 3 || fc === 4 ? word(address + i) : bit(address + i)));
  },
};

/** CRC-16/MODBUS (Modbus over Serial Line V1.02 §6.2.2): polynomial 0xA001 reflected, init 0xFFFF. */
export function crc16(bytes: Uint8Array): number {
  let crc = 0xffff;
  for (const b of bytes) {
    crc ^= b;
    for (let i = 0; i < 8; i++) crc = crc & 1 ? (crc >>> 1) ^ 0xa001 : crc >>> 1;
  }
  return crc;
}

/** RTU ADU: unit id, PDU, CRC low byte first (Modbus over Serial Line V1.02 §2.5.1.2). */
export function rtuFrame(unitId: number, pdu: Uint8Array): Buffer {
  const body = Buffer.concat([Buffer.from([unitId & 0xff]), pdu]);
  const crc = Buffer.alloc(2);
  crc.writeUInt16LE(crc16(body));
  return Buffer.concat([body, crc]);
}

/** TCP ADU: MBAP header (transaction id, protocol id 0, length = unit id + PDU, unit id) and the PDU. */
export function tcpFrame(
  transactionId: number,
  unitId: number,
  pdu: Uint8Array,
  o: { protocolId?: number; length?: number } = {},
): Buffer {
  const head = Buffer.alloc(7);
  head.writeUInt16BE(transactionId & 0xffff, 0);
  head.writeUInt16BE((o.protocolId ?? 0) & 0xffff, 2);
  head.writeUInt16BE((o.length ?? pdu.length + 1) & 0xffff, 4);
  head.writeUInt8(unitId & 0xff, 6);
  return Buffer.concat([head, pdu]);
}

/**
 * Length of the request PDU that starts `pdu`, once enough bytes are there to know it:
 * 5 for FC1-6 (§6.1-6.6), 6 + byte count for FC15/16 (§6.11, §6.12); undefined = need more bytes,
 * -1 = a function code this parser does not know.
 */
export function requestPduLength(pdu: Uint8Array): number | undefined {
  const fc = pdu[0];
  if (fc === undefined) return undefined;
  if (fc >= 1 && fc <= 6) return 5;
  if (fc === 15 || fc === 16) return pdu.length < 6 ? undefined : 6 + (pdu[5] as number);
  return -1;
}

/** Parses a complete request PDU (function code first). */
export function parseRequest(unitId: number, pdu: Buffer): ModbusRequest {
  const fc = pdu[0] as number;
  const address = pdu.length >= 3 ? pdu.readUInt16BE(1) : 0;
  const quantity = pdu.length >= 5 ? pdu.readUInt16BE(3) : 0;
  const req: ModbusRequest = { unitId, fc, address, quantity, pdu };
  if (fc === 16 && pdu.length >= 6) {
    const n = Math.floor((pdu[5] as number) / 2);
    req.values = Array.from({ length: n }, (_, i) =>
      pdu.length >= 8 + 2 * i ? pdu.readUInt16BE(6 + 2 * i) : 0,
    );
  }
  return req;
}

/** Exception response PDU (Modbus Application Protocol V1.1b3 §7): function code + 0x80, exception code. */
export function exceptionPdu(fc: number, code: number): Buffer {
  return Buffer.from([(fc | 0x80) & 0xff, code & 0xff]);
}

/**
 * The correct response PDU to a request, per the model: exception 01 for a function it does not
 * know, 02 for an address the model lacks.
 */
export function honestPdu(req: ModbusRequest, model: SlaveModel): Buffer {
  const { fc, address, quantity } = req;
  if (fc === 1 || fc === 2) {
    // §6.1, §6.2: byte count, then the bits packed LSB first
    const bits = model.read(req.unitId, fc, address, quantity);
    if (!bits) return exceptionPdu(fc, 2);
    const bytes = Buffer.alloc(Math.ceil(quantity / 8));
    bits.forEach((b, i) => {
      if (b) bytes[i >> 3] = (bytes[i >> 3] as number) | (1 << (i & 7));
    });
    return Buffer.concat([Buffer.from([fc, bytes.length]), bytes]);
  }
  if (fc === 3 || fc === 4) {
    // §6.3, §6.4: byte count, then the registers big-endian
    const words = model.read(req.unitId, fc, address, quantity);
    if (!words) return exceptionPdu(fc, 2);
    const body = Buffer.alloc(2 * words.length);
    words.forEach((w, i) => body.writeUInt16BE(w & 0xffff, 2 * i));
    return Buffer.concat([Buffer.from([fc, body.length]), body]);
  }
  if (fc === 5 || fc === 6) return Buffer.from(req.pdu.subarray(0, 5)); // §6.5, §6.6: an echo of the request
  if (fc === 15 || fc === 16) return Buffer.from(req.pdu.subarray(0, 5)); // §6.11, §6.12: address and quantity
  return exceptionPdu(fc, 1);
}
