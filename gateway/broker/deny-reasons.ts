/**
 * Why the local broker refused something: the stable reason names (also the `reason` label of the
 * metric) and the event each refusal produces, for `onDenied` and the log.
 */

/** Stable, short reasons of refusals (also the `reason` label of the metric). */
export type DenyReason =
  | 'acl'
  | 'anonymous'
  | 'bad-credentials'
  | 'throttled'
  | 'password-check-failed'
  | 'client-id-empty'
  | 'client-id-namespace'
  | 'client-id-taken'
  | 'max-persistent-sessions'
  | 'max-connections'
  | 'max-connections-per-source'
  | 'packet-too-large'
  | 'malformed-length'
  | 'first-packet-not-connect'
  | 'max-subscriptions'
  | 'max-retained-messages'
  | 'max-retained-bytes'
  | 'slow-consumer'
  | 'session-queue-full'
  | 'protocol-error'
  | 'timeout';

export interface DeniedEvent {
  /** connection: refused at accept; packet: closed by the socket-level packet check. */
  action: 'connect' | 'publish' | 'subscribe' | 'connection' | 'packet' | 'deliver';
  clientId: string;
  username?: string;
  topic?: string;
  reason: DenyReason;
  /** Remote address of the connection, when known. */
  source?: string;
  /** Announced packet size, for `packet-too-large`. */
  bytes?: number;
  /** What the MQTT parser or aedes said, for `protocol-error` and `timeout`. */
  detail?: string;
}
