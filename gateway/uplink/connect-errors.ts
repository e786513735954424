/**
 * Classifies why a connection to the city broker failed, so that each cause gets a clear
 * log line with a code and a hint, and the right retry pace (auth refusals: slowly).
 * CONNACK codes: MQTT 3.1.1 §3.2.2.3, MQTT 5 §3.2.2.2.
 */
import type { ErrorCode } from '../core/error-codes.js';

export type FailureReason = 'unreachable' | 'tls' | 'auth' | 'refused' | 'protocol' | 'lost' | 'config';

export interface ConnectFailure {
  reason: FailureReason;
  /** Stable error code for logs and alerts. */
  code: Extract<ErrorCode, `UPLINK_${string}`>;
  detail: string;
  hint: string;
}

const AUTH_V4 = new Set([4, 5]); // bad user name or password, not authorised
const AUTH_V5 = new Set([0x86, 0x87, 0x8c]); // bad user name or password, not authorised, bad authentication method
// malformed packet, protocol error, unsupported protocol version; and 0x01: a 3.1.1-only broker answers an
// MQTT 5 CONNECT with its own "unacceptable protocol version" (MQTT 5 §3.2.2.2 never uses 1)
const PROTOCOL_V5 = new Set([0x01, 0x81, 0x82, 0x84]);
const NET = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'ECONNRESET',
  'EAI_AGAIN',
  'EPIPE',
  'ECONNABORTED',
]);
const TLS = /CERT|SSL|TLS|EPROTO|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|HOSTNAME|ALTNAME|ISSUER/;

export function classifyConnectError(err: unknown, protocolVersion: 4 | 5): ConnectFailure {
  const e = err as { code?: unknown; message?: string };
  const message = e?.message ?? String(err);
  const code = e?.code;
  if (typeof code === 'number') {
    const detail = `${message} (CONNACK code ${code}, MQTT ${protocolVersion === 5 ? '5' : '3.1.1'})`;
    if ((protocolVersion === 5 ? AUTH_V5 : AUTH_V4).has(code)) {
      return {
        reason: 'auth',
        code: 'UPLINK_AUTH',
        detail,
        hint: 'the city broker refused the credentials: check uplink.username and uplink.password / uplink.passwordFile and the account on the city broker; retried slowly (uplink.backoff.authFailureMs)',
      };
    }
    if (protocolVersion === 5 ? PROTOCOL_V5.has(code) : code === 1) {
      return {
        reason: 'protocol',
        code: 'UPLINK_PROTOCOL',
        detail,
        hint: 'the city broker does not accept this MQTT version; set uplink.protocol to auto, 5 or 3.1.1',
      };
    }
    if (protocolVersion === 5 ? code === 0x85 : code === 2) {
      return {
        reason: 'refused',
        code: 'UPLINK_CLIENT_ID',
        detail,
        hint: 'the city broker rejects the client id; set uplink.clientId',
      };
    }
    return {
      reason: 'refused',
      code: 'UPLINK_REFUSED',
      detail,
      hint: 'the city broker refused the connection; retrying with backoff',
    };
  }
  if (typeof code === 'string') {
    if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR') {
      return {
        reason: 'config',
        code: 'UPLINK_FILE',
        detail: message,
        hint: 'a file named in uplink (tls.caFile, certFile, keyFile, passwordFile) cannot be read',
      };
    }
    if (NET.has(code)) {
      return {
        reason: 'unreachable',
        code: 'UPLINK_UNREACHABLE',
        detail: `${code}: ${message}`,
        hint: 'the city broker cannot be reached; the outbox keeps everything until it can',
      };
    }
    if (TLS.test(code) || TLS.test(message)) {
      return {
        reason: 'tls',
        code: 'UPLINK_TLS',
        detail: `${code}: ${message}`,
        hint: 'TLS failed: check that uplink.tls.caFile is the CA that signed the city broker certificate and that the host name matches (uplink.tls.servername); for mutual TLS check uplink.tls.certFile and keyFile',
      };
    }
  }
  if (/protocol|packet|header/i.test(message)) {
    return {
      reason: 'protocol',
      code: 'UPLINK_PROTOCOL',
      detail: message,
      hint: 'the city broker does not speak this MQTT version; set uplink.protocol',
    };
  }
  return { reason: 'unreachable', code: 'UPLINK_ERROR', detail: message, hint: 'retrying with backoff' };
}
