import { type Logger, pino } from 'pino';

export type { Logger };

/** Paths that may hold secrets; pino replaces their values before anything is written. */
export const REDACT_PATHS = [
  'password',
  'passwordHash',
  '*.password',
  '*.passwordHash',
  '*.*.password',
  '*.*.passwordHash',
  'key',
  '*.key',
  'token',
  '*.token',
  'authorization',
  '*.authorization',
  'headers.authorization',
];

export function createLogger(level = 'info', destination?: NodeJS.WritableStream): Logger {
  return pino(
    { level, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, base: undefined },
    destination ?? pino.destination({ dest: 2, sync: false }),
  );
}
