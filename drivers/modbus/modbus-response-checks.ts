/**
 * Checks modbus-serial does not make on a response that arrived with the right unit id, function
 * code and frame length: the byte count of a read (a hostile or broken slave can state a byte count
 * that disagrees with the frame, and the library then returns too few registers, or the CRC bytes
 * as an extra one) and the echo of a write. Each returns what is wrong, or undefined.
 */

/** FC3 / FC4 (Modbus Application Protocol V1.1b3 §6.3, §6.4): byte count = 2 × quantity of registers. */
export function registersProblem(r: { data: number[]; buffer: Buffer }, quantity: number): string | undefined {
  if (r.buffer.length !== 2 * quantity || r.data.length !== quantity) {
    return (
      `malformed response: ${r.buffer.length} data bytes / ${r.data.length} registers for ${quantity} ` +
      `registers asked (byte count must be ${2 * quantity})`
    );
  }
  return undefined;
}

/** FC1 / FC2 (§6.1, §6.2): byte count = quantity / 8, rounded up. */
export function bitsProblem(r: { data: boolean[]; buffer: Buffer }, quantity: number): string | undefined {
  const bytes = Math.ceil(quantity / 8);
  if (r.buffer.length !== bytes || r.data.length < quantity) {
    return `malformed response: ${r.buffer.length} data bytes for ${quantity} bits (byte count must be ${bytes})`;
  }
  return undefined;
}

/**
 * FC5 (§6.5): the normal response is an echo of the request, address and value (0xFF00 ON, 0x0000
 * OFF). `frame` is the raw response (unit id, function code, address, value, CRC) when known: the
 * library's `state` only says whether the value was 0xFF00.
 */
export function coilEchoProblem(
  r: { address: number; state: boolean },
  address: number,
  value: boolean,
  frame?: Buffer,
): string | undefined {
  const want = value ? 0xff00 : 0x0000;
  const raw = frame && frame.length >= 6 && frame[1] === 5 ? frame.readUInt16BE(4) : undefined;
  if (r.address !== address || r.state !== value || (raw !== undefined && raw !== want)) {
    const got = raw === undefined ? (r.state ? 'ON' : 'OFF') : `0x${raw.toString(16).padStart(4, '0')}`;
    return `wrong echo: coil ${r.address} ${got} for coil ${address} ${value ? 'ON' : 'OFF'} written`;
  }
  return undefined;
}

/** FC6 (§6.6): the normal response is an echo of the request, address and value. */
export function registerEchoProblem(
  r: { address: number; value: number },
  address: number,
  value: number,
): string | undefined {
  if (r.address !== address || r.value !== value) {
    return `wrong echo: register ${r.address} = ${r.value} for register ${address} = ${value} written`;
  }
  return undefined;
}

/** FC16 (§6.12): the response returns the starting address and the quantity of registers written. */
export function multipleEchoProblem(
  r: { address: number; length: number },
  address: number,
  quantity: number,
): string | undefined {
  if (r.address !== address || r.length !== quantity) {
    return `wrong echo: ${r.length} registers from ${r.address} for ${quantity} from ${address} written`;
  }
  return undefined;
}
