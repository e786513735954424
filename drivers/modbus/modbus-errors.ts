/**
 * Coded Modbus errors. modbus-serial reports failures as assorted Error shapes (a
 * "Timed out" TransactionTimedOutError, a "Port Not Open" PortNotOpenError, socket errnos,
 * exception responses with `modbusCode`); `toModbusError` maps them onto a few stable codes.
 */
import type { ErrorCode } from '../../gateway/core/error-codes.js';
import { errorMessage, GatewayError } from '../../gateway/core/errors.js';

/** The Modbus codes of the one list in gateway/core/error-codes.ts, where each is explained. */
export type ModbusErrorCode = Extract<ErrorCode, `MODBUS_${string}`>;

/** Exception codes of Modbus Application Protocol V1.1b3 §7. */
const EXCEPTION_NAMES: Record<number, string> = {
  1: 'illegal function',
  2: 'illegal data address',
  3: 'illegal data value',
  4: 'server device failure',
  5: 'acknowledge',
  6: 'server device busy',
  8: 'memory parity error',
  10: 'gateway path unavailable',
  11: 'gateway target device failed to respond',
};

export class ModbusError extends GatewayError {
  constructor(
    override readonly code: ModbusErrorCode,
    message: string,
    /** For MODBUS_EXCEPTION: the exception code of the response. */
    readonly exceptionCode?: number,
    options?: { cause?: unknown },
  ) {
    super(code, message, undefined, options);
    this.name = 'ModbusError';
  }
}

/** True when the failure is the bus's (connection), not one unit's: no per-device backoff for it. */
export function isBusFault(err: unknown): boolean {
  return (
    err instanceof ModbusError &&
    (err.code === 'MODBUS_NOT_CONNECTED' || err.code === 'MODBUS_CONNECTION_LOST')
  );
}

const CONNECTION_ERRNOS = new Set([
  'ECONNRESET',
  'EPIPE',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ENOTCONN',
  'ERR_STREAM_DESTROYED',
]);

/** Maps whatever modbus-serial rejected with onto a ModbusError; `what` names the request. */
export function toModbusError(err: unknown, what: string): ModbusError {
  if (err instanceof ModbusError) return err;
  const e = (err ?? {}) as {
    name?: string;
    message?: string;
    code?: string;
    errno?: string;
    modbusCode?: number;
  };
  const message = errorMessage(err);
  if (typeof e.modbusCode === 'number') {
    const name = EXCEPTION_NAMES[e.modbusCode] ?? 'unknown exception';
    return new ModbusError('MODBUS_EXCEPTION', `${what}: exception ${e.modbusCode} (${name})`, e.modbusCode, {
      cause: err,
    });
  }
  if (e.name === 'TransactionTimedOutError' || e.errno === 'ETIMEDOUT' || message === 'Timed out') {
    return new ModbusError('MODBUS_TIMEOUT', `${what}: no answer (timed out)`, undefined, { cause: err });
  }
  if (e.name === 'PortNotOpenError' || message === 'Port Not Open') {
    return new ModbusError('MODBUS_NOT_CONNECTED', `${what}: port not open`, undefined, { cause: err });
  }
  if (CONNECTION_ERRNOS.has(e.code ?? '') || CONNECTION_ERRNOS.has(e.errno ?? '')) {
    return new ModbusError(
      'MODBUS_CONNECTION_LOST',
      `${what}: connection lost (${e.code ?? e.errno})`,
      undefined,
      {
        cause: err,
      },
    );
  }
  return new ModbusError('MODBUS_BAD_RESPONSE', `${what}: ${message}`, undefined, { cause: err });
}
