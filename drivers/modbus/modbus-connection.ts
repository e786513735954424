/**
 * One connection of a Modbus bus: the modbus-serial client opened on the bus's transport, its port
 * watched for resets and unplugging, and closed without waiting forever. The bus (modbus-bus.ts)
 * decides when to open, judge and re-open.
 */
import modbusSerial from 'modbus-serial';
import { errorMessage } from '../../gateway/core/errors.js';
import { serialPortOf, tcpSocketOf } from './modbus-client-internals.js';
import type { ModbusTransport } from './modbus-transport.js';

// modbus-serial is CommonJS with `module.exports.default = module.exports`; under NodeNext the
// default import is the module object, whose `default` is the ModbusRTU client class.
export const ModbusRTU = modbusSerial.default;
export type Client = InstanceType<typeof ModbusRTU>;

/** Opens the client on the transport: a TCP connection, or the serial port (RTU framing). */
export function openClient(client: Client, t: ModbusTransport): Promise<void> {
  if (t.type === 'tcp') return client.connectTCP(t.host, { port: t.port });
  return client.connectRTUBuffered(t.path, {
    baudRate: t.baudRate,
    parity: t.parity,
    dataBits: t.dataBits,
    stopBits: t.stopBits,
  });
}

/**
 * TCP: the library records a reset only in `isOpen` and emits nothing; watch the socket so that
 * a reset or close is noticed (and the request in flight failed) at once. Serial: the library's
 * close event drops the reason; take it from the port (runs before the library's listeners).
 */
export function watchPort(client: Client, lost: (reason: string) => void): void {
  const socket = tcpSocketOf(client);
  if (socket) {
    let cause: string | undefined;
    socket.prependListener('error', (err: NodeJS.ErrnoException) => {
      cause ??= err.code ?? err.message;
    });
    // before the library's own listener, which reports a mere "port closed"
    socket.prependOnceListener('close', () => {
      lost(cause ? `connection reset (${cause})` : 'connection closed by the peer');
    });
    return;
  }
  const serial = serialPortOf(client);
  if (!serial) return;
  let cause: string | undefined;
  serial.prependListener('error', (err: unknown) => {
    cause ??= errorMessage(err);
  });
  serial.prependListener('close', (err: unknown) => {
    const why = err instanceof Error ? err.message : cause;
    lost(why ? `serial port disconnected (${why})` : 'serial port closed');
  });
}

/** Closes a client's port; bounded, never throws (TCP ports may never call back after an error). */
export function disposeClient(client: Client, t: ModbusTransport): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = setTimeout(resolve, 1000);
    const finish = () => {
      clearTimeout(done);
      resolve();
    };
    try {
      if (t.type === 'tcp') client.destroy(finish);
      else client.close(finish);
    } catch {
      finish();
    }
  });
}

/** 3.5 character times at `baudRate` (11 bits per character), or 1.75 ms above 19200 baud (§2.5.1.1). */
export function silentIntervalMs(baudRate: number): number {
  return baudRate > 19_200 ? 1.75 : (3.5 * 11 * 1000) / baudRate;
}
