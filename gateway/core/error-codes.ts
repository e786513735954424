/**
 * Every error code the gateway reports, in one list: the `code` of a GatewayError (and of its
 * subclasses) and the `code` field of a classified uplink failure or log line. Codes are stable:
 * operators match on them in logs and alerts. Add a code here, with its meaning, before using it.
 */
export const ErrorCode = {
  BAD_DURATION: 'a duration (500ms, 30s, 5m, 2h, 7d) cannot be read',
  BAD_TIME: 'a time is neither a duration nor an ISO 8601 date and time',
  BROKER_ACCOUNTS: 'broker.accounts is unusable: a user listed twice, a bad topic filter or a malformed password hash',
  BROKER_AUTH: "the local broker refused a client's CONNECT (unknown user, wrong password, not allowed)",
  BROKER_CLOSED: 'the local broker is closed; nothing more is published',
  BROKER_LISTEN: 'a local broker listener cannot listen on its host and port',
  BROKER_PUBLISH_DENIED: "a client published outside its account's allowed topics",
  BROKER_PUBLISH_FAILED: 'a device publish was not accepted by the event pipeline',
  BROKER_RETAINED_LIMIT: 'a retained message was refused by the retained-store limits',
  CONFIG_INVALID: 'the site file cannot be read or parsed, or breaks the schema or the rules',
  DRIVER_UNKNOWN: 'a device names a family that no driver is registered for',
  HTTP_LISTEN: 'the HTTP server cannot listen on http.host and http.port',
  HTTP_METRICS_TOKEN: 'http.metricsTokenFile cannot be read or holds a token that is too short',
  JOURNAL_OPEN: 'the journal database cannot be opened (journal.path, permissions, disk)',
  MODBUS_NOT_CONNECTED: 'no open Modbus connection when the request was due; it was not sent',
  MODBUS_CONNECTION_LOST: 'the Modbus connection broke during the request (reset, broken pipe, port closed)',
  MODBUS_TIMEOUT: 'a Modbus unit did not answer within the timeout (absent, dead or wrong unit id)',
  MODBUS_EXCEPTION: 'a Modbus unit answered with an exception response (Modbus Application Protocol V1.1b3 §7)',
  MODBUS_BAD_RESPONSE: 'a Modbus answer was malformed (CRC, length, unit id or function code mismatch)',
  MODBUS_CLOSED: 'the Modbus bus was closed by its owner',
  MODEM_CLOSED: 'the GSM modem port closed while a command was waiting',
  MODEM_ERROR: 'the GSM modem answered ERROR (with its +CMS or +CME error number when given)',
  MODEM_TIMEOUT: 'the GSM modem did not answer an AT command in time',
  PASSWORD_HASH_FORMAT: 'a password hash is not in the form scrypt$<N>$<r>$<p>$<salt>$<hash>',
  UPLINK_AUTH: 'the city broker refused the uplink credentials',
  UPLINK_CLIENT_ID: 'the city broker rejected the uplink client id',
  UPLINK_ERROR: 'the uplink connection failed for a reason not classified otherwise',
  UPLINK_FILE: 'a file named in uplink (CA, certificate, key, password file) cannot be read',
  UPLINK_LOST: 'the established connection to the city broker was lost',
  UPLINK_NO_CONNACK: 'the city broker closed or timed out before its CONNACK',
  UPLINK_OUTBOX_EVICTED: 'the outbox reached its disk budget and evicted the oldest telemetry',
  UPLINK_PROTOCOL: 'the city broker does not accept this MQTT version or sent a malformed packet',
  UPLINK_PUBLISH_FAILED: 'a publish to the city broker failed; the event stays in the outbox',
  UPLINK_PUBLISH_REJECTED: 'the city broker refused a message (MQTT 5 PUBACK reason); it stays in the outbox',
  UPLINK_REFUSED: 'the city broker refused the connection (CONNACK with another refusal code)',
  UPLINK_TLS: 'TLS with the city broker failed (CA, host name, client certificate)',
  UPLINK_UNREACHABLE: 'the city broker cannot be reached (refused, unknown host, no route, timeout)',
  USAGE: 'the gateway command line is wrong (see `gateway --help`)',
} as const satisfies Record<string, string>;

export type ErrorCode = keyof typeof ErrorCode;

/** The one-line meaning of a code (for logs and docs). */
export const errorCodeMeaning = (code: ErrorCode): string => ErrorCode[code];
