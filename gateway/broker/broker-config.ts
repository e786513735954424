import { z } from 'zod';

const Listener = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('tcp'),
    host: z.string().default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(1883),
  }),
  z.object({
    type: z.literal('ws'),
    host: z.string().default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(8083),
  }),
]);

/** An MQTT topic filter; `{username}` is replaced by the account's user name. */
const TopicFilter = z
  .string()
  .min(1)
  .refine((s) => !/#./.test(s), '"#" must be the last character of a topic filter');

export const Account = z.object({
  username: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'letters, digits, ".", "-" and "_" only'),
  /** `scrypt$...` as printed by `gateway hash-password`; plain passwords are never stored in config. */
  passwordHash: z
    .string()
    .regex(/^scrypt\$/, 'a hash made by `gateway hash-password` (starts with "scrypt$")'),
  /**
   * device: publishes only under `dev/{username}/#` (except `dev/{username}/cmd/#`, which only the gateway
   * publishes to), subscribes only to `dev/{username}/cmd/#`;
   * reader: subscribes to the gateway's topics (`cg/#` unless `subscribe` says otherwise), publishes nothing;
   * admin: everything.
   */
  role: z.enum(['device', 'reader', 'admin']),
  /** Replaces the role's default publish filters. */
  publish: z.array(TopicFilter).optional(),
  /** Replaces the role's default subscribe filters. */
  subscribe: z.array(TopicFilter).optional(),
});
export type Account = z.infer<typeof Account>;

/** MQTT 3.1.1 §2.2.3: the largest remaining length is 268,435,455, plus 5 bytes of fixed header. */
export const MQTT_MAX_PACKET_BYTES = 268_435_460;

/**
 * Limits of the local broker. Defaults suit a compound of a few thousand devices on one gateway.
 * Every refusal is logged (at most once a minute per reason and source address when repeated) and
 * counted in `gateway_broker_denied_total{what,reason}`.
 */
export const BrokerLimits = z.strictObject({
  /**
   * Largest MQTT packet (fixed header included, §2.2) a logged-in client may send, in bytes. Checked at
   * the socket from the packet's announced length (§2.2.3), before any of it is buffered: a larger
   * packet closes the connection. Also the WebSocket listener's largest message.
   */
  maxPacketBytes: z.number().int().min(1024).max(MQTT_MAX_PACKET_BYTES).default(256 * 1024),
  /**
   * Largest packet before the CONNECT is accepted (the CONNECT itself with its will message, and
   * anything a client sends before its CONNACK). The first packet must be a CONNECT (§3.1).
   */
  maxConnectPacketBytes: z.number().int().min(128).max(MQTT_MAX_PACKET_BYTES).default(16 * 1024),
  /** Open connections on all listeners together, logged in or not; more are closed at once. */
  maxConnections: z.number().int().min(1).default(10_000),
  /**
   * Open connections from one source address. Raise it when many clients reach the gateway through one
   * address (NAT, a protocol bridge, a container port proxy).
   */
  maxConnectionsPerSource: z.number().int().min(1).default(100),
  /** Milliseconds a new connection may take to send its CONNECT before it is closed. */
  connectTimeoutMs: z.number().int().min(100).default(10_000),
  /**
   * Client ids with a persistent session (clean session = false, §3.1.2.4) one account may hold: each
   * keeps a session and its queued messages in the broker while the gateway runs. A CONNECT that would
   * open one more is refused (CONNACK 2).
   */
  maxPersistentSessionsPerAccount: z.number().int().min(1).default(16),
  /** Topic filters one client may hold; a SUBSCRIBE beyond it is refused (SUBACK 0x80, §3.9.3). */
  maxSubscriptionsPerClient: z.number().int().min(1).default(100),
  /**
   * Retained messages stored by clients (the gateway's own retained topics are not counted). A client's
   * retained PUBLISH that would exceed the count or the bytes is refused: not stored, not delivered, and the
   * connection is closed (§3.3.5), so a QoS 1 message is never acknowledged. Clearing (empty payload) is
   * always allowed.
   */
  maxRetainedMessages: z.number().int().min(0).default(10_000),
  /**
   * QoS 1 messages kept for one persistent session (clean session off) until its client acknowledges
   * them, e.g. while it is offline. Beyond it new messages for that client are dropped and counted.
   */
  maxQueuedPerSession: z.number().int().min(1).default(10_000),
  /** Total bytes (topic and payload) of the retained messages stored by clients. */
  maxRetainedBytes: z.number().int().min(0).default(32 * 1024 * 1024),
  /** A client whose socket does not take its messages for this long is disconnected, so it cannot stall others. */
  drainTimeoutMs: z.number().int().min(100).default(5_000),
});
export type BrokerLimits = z.infer<typeof BrokerLimits>;

/**
 * Password-guessing protection of every login of the gateway (local broker, ops HTTP, console feed;
 * failures per source address and per user name, counted across all three).
 */
export const BrokerLogin = z.strictObject({
  /** Failed logins from one address within `windowMs` before the address is locked out. */
  maxFailuresPerSource: z.number().int().min(1).default(10),
  /** Failed logins for one user name, from any address, within `windowMs` before the name is locked out. */
  maxFailuresPerUser: z.number().int().min(1).default(20),
  windowMs: z.number().int().min(1000).default(10 * 60_000),
  /** During a lockout logins are answered CONNACK 3 (server unavailable, try later) without checking the password. */
  lockoutMs: z.number().int().min(1000).default(5 * 60_000),
  /** A successful password check is remembered this long (reconnections cost no scrypt). */
  cacheTtlMs: z.number().int().min(0).default(15 * 60_000),
  /** Password checks (scrypt, about 16 MB each) running at once; the rest wait, fairly shared among addresses. */
  maxConcurrentVerifications: z.number().int().min(1).max(16).default(2),
});
export type BrokerLogin = z.infer<typeof BrokerLogin>;

export const BrokerConfig = z.object({
  listeners: z
    .array(Listener)
    .min(1)
    .default([{ type: 'tcp', host: '127.0.0.1', port: 1883 }]),
  /**
   * Client ids: a `device` account must use its user name as client id, or `<username>:<anything>`
   * (e.g. `bin-7:sensor-2`); nobody else may use such an id. Any other id belongs to the first account
   * that connects with it for as long as its session lives (for clean-session=false: while the gateway
   * runs); another account presenting it is refused with CONNACK 2 (identifier rejected).
   */
  accounts: z.array(Account).default([]),
  /** Omitted: every limit at its default (the broker fills them in at start). */
  limits: BrokerLimits.optional(),
  /** Omitted: login protection at its defaults. */
  login: BrokerLogin.optional(),
});
export type BrokerConfig = z.infer<typeof BrokerConfig>;
/** What `startBroker` takes: limits and login protection, or any of their fields, may be left out (defaults). */
export type BrokerConfigInput = Omit<BrokerConfig, 'limits' | 'login'> & {
  limits?: Partial<BrokerLimits>;
  login?: Partial<BrokerLogin>;
};
