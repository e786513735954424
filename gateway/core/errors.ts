import type { ErrorCode } from './error-codes.js';

export type { ErrorCode } from './error-codes.js';

/** Coded errors: every error the gateway reports carries a stable code and, where useful, a hint. */
export class GatewayError extends Error {
  constructor(
    /** One of the codes listed, with their meanings, in error-codes.ts. */
    readonly code: ErrorCode,
    message: string,
    readonly hint?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'GatewayError';
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
