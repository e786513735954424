/**
 * Config of one physical Modbus bus: a Modbus TCP connection (a device or an RS-485/TCP
 * gateway) or an RS-485 line on a local serial port (Modbus RTU). Shared by every Modbus family.
 */
import { z } from 'zod';

export const TcpTransport = z.strictObject({
  type: z.literal('tcp'),
  host: z.string().min(1).default('127.0.0.1'),
  /** Modbus Messaging on TCP/IP V1.0b §4.4.1: the registered port is 502. */
  port: z.number().int().min(1).max(65535).default(502),
});

export const RtuTransport = z.strictObject({
  type: z.literal('rtu'),
  /** Serial device, e.g. /dev/ttyUSB0 or /dev/serial/by-id/... */
  path: z.string().min(1),
  baudRate: z.number().int().min(300).max(921_600).default(9600),
  /** Modbus over Serial Line V1.02 §2.5.1: even parity is the default of the spec; most devices ship with none. */
  parity: z.enum(['none', 'even', 'odd']).default('none'),
  /** RTU frames carry 8-bit bytes (Modbus over Serial Line V1.02 §2.5.1). */
  dataBits: z.literal(8).default(8),
  /** 1 stop bit with parity, 2 without (§2.5.1); many devices use none + 1. */
  stopBits: z.literal([1, 2]).default(1),
});

export const ModbusTransport = z.discriminatedUnion('type', [TcpTransport, RtuTransport]);
export type ModbusTransport = z.infer<typeof ModbusTransport>;

/** Human name of the bus for logs and errors, e.g. `tcp 127.0.0.1:502` or `rtu /dev/ttyUSB0`. */
export function describeTransport(t: ModbusTransport): string {
  return t.type === 'tcp' ? `tcp ${t.host}:${t.port}` : `rtu ${t.path}`;
}
