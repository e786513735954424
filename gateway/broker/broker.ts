import { randomUUID } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import {
  type AddressInfo,
  createServer as createNetServer,
  type Server as NetServer,
  type Socket,
} from 'node:net';
import type { Duplex } from 'node:stream';
import { Aedes, type AuthenticateError, type Client, type PublishPacket } from 'aedes';
import { createWebSocketStream, WebSocketServer } from 'ws';
import { LoginGuard } from '../auth/login-guard.js';
import { GatewayError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { type AclAccount, ANONYMOUS, canPublish, canSubscribe, isValidFilter } from './acl.js';
import { type Account, type BrokerConfigInput, BrokerLimits, BrokerLogin } from './broker-config.js';
import { GuardedStream, PacketScanner, type PacketViolation } from './packet-limit.js';
import { type ParsedHash, parsePasswordHash } from '../auth/password.js';

/**
 * The embedded local broker (aedes, MQTT 3.1.1): the compound's local bus.
 * Per-account credentials (scrypt hashes, checked through a {@link LoginGuard}), topic ACLs, client
 * ids bound to accounts, and limits on packet size (checked at the socket, before login),
 * connections, subscriptions and retained messages. Anonymous read-only access in demo mode only.
 */

export interface BrokerClientInfo {
  id: string;
  username?: string;
}

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
  | 'max-connections'
  | 'max-connections-per-source'
  | 'packet-too-large'
  | 'malformed-length'
  | 'first-packet-not-connect'
  | 'max-subscriptions'
  | 'max-retained-messages'
  | 'max-retained-bytes'
  | 'slow-consumer'
  | 'protocol-error'
  | 'timeout';

export interface DeniedEvent {
  /** connection: refused at accept; packet: closed by the socket-level packet check. */
  action: 'connect' | 'publish' | 'subscribe' | 'connection' | 'packet';
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

export interface StartBrokerOptions {
  /** Demo mode: clients without a user name may connect, read-only (`cg/#`). */
  demo: boolean;
  log: Logger;
  /**
   * Called for every client PUBLISH the ACL allows, before aedes acknowledges it: aedes sends the
   * QoS 1 PUBACK (§3.4) right after `authorizePublish`, so whatever this awaits is done when the
   * device sees its PUBACK. A rejection refuses the publish (no PUBACK; aedes closes the connection).
   * Retransmissions (DUP, §4.3.2) reach it again: deduplicate by event id.
   */
  onDevicePublish?: (client: BrokerClientInfo, topic: string, payload: Buffer, qos: number) => Promise<void>;
  /**
   * Asked before each publish of a `device` account: while the promise it returns is pending, that
   * client's publish waits, and aedes reads nothing more from its socket (TCP pushes back on the
   * device). The gateway holds devices this way while it is behind.
   */
  holdDevice?: () => Promise<void> | undefined;
  /** Called on every refusal: connection, packet, login, publish, subscription (for metrics). */
  onDenied?: (event: DeniedEvent) => void;
  /** Called once per login lockout (a source address or user name guessing passwords). */
  onLoginThrottled?: (who: { source: string; username: string }) => void;
  /**
   * A login guard shared with the gateway's other logins, so that a lockout and the cap on concurrent
   * password checks hold across services. By default the broker makes its own from `config.login`.
   */
  loginGuard?: LoginGuard;
  /** Overrides `config.limits.drainTimeoutMs`. */
  drainTimeoutMs?: number;
}

export interface BoundListener {
  type: 'tcp' | 'ws';
  host: string;
  port: number;
}

export interface BrokerStats {
  /** Open connections (logged in or not), all listeners together. */
  connections: number;
  /** Source addresses with open connections. */
  sources: number;
  /** Retained messages stored by clients, and their bytes (topic + payload). */
  retainedMessages: number;
  retainedBytes: number;
  /** Client ids bound to an account (connected, or with a persistent session). */
  boundClientIds: number;
}

export interface RunningBroker {
  aedes: Aedes;
  listeners: BoundListener[];
  /** The guard every broker login goes through. */
  loginGuard: LoginGuard;
  /** Publishes as the gateway itself: no ACL, no `onDevicePublish`, no retained limits. */
  publish(topic: string, payload: string | Buffer, opts?: { retain?: boolean; qos?: 0 | 1 }): Promise<void>;
  stats(): BrokerStats;
  close(): Promise<void>;
}

// §3.2.2.3 CONNACK return codes.
const IDENTIFIER_REJECTED = 2;
const SERVER_UNAVAILABLE = 3;
const BAD_USERNAME_OR_PASSWORD = 4;
const NOT_AUTHORIZED = 5;

/** Separates a device account's user name from the rest of its client id: `bin-7:sensor-2`. */
export const CLIENT_ID_SEPARATOR = ':';

/** A repeated refusal (same reason, source, client, topic) is logged at most once per interval. */
const LOG_REPEAT_MS = 60_000;
/** Refusals that can come in floods: logged per reason and source only, whoever the client claims to be. */
const FLOOD_REASONS: ReadonlySet<DenyReason> = new Set([
  'throttled',
  'protocol-error',
  'timeout',
  'max-connections',
  'max-connections-per-source',
  'packet-too-large',
  'malformed-length',
  'first-packet-not-connect',
]);

interface Credential {
  account: Account;
  hash: ParsedHash;
}

/** What the broker knows about one accepted connection (TCP socket or WebSocket). */
interface Connection {
  source: string;
  scanner: PacketScanner;
  /** The client id this connection was bound to at login. */
  boundId?: string;
}

/** An account's claim on a client id. */
interface ClientIdOwner {
  username: string;
  /** A clean-session=false session lives on after the connection ([MQTT-3.1.2-4]). */
  persistent: boolean;
  clients: Set<Client>;
}

export async function startBroker(config: BrokerConfigInput, opts: StartBrokerOptions): Promise<RunningBroker> {
  const log = opts.log.child({ component: 'broker' });
  const limits = BrokerLimits.parse(config.limits ?? {});
  const loginLimits = BrokerLogin.parse(config.login ?? {});
  const credentials = loadAccounts(config.accounts);
  const principals = new WeakMap<Client, AclAccount>();
  const stampDeliveryClass = deliveryClassStamper();
  const guard =
    opts.loginGuard ??
    new LoginGuard({ ...loginLimits, log, onThrottled: (who) => opts.onLoginThrottled?.(who) });

  const usernameOf = (client: Client | null): string | undefined => {
    const account = client ? principals.get(client) : undefined;
    return account && account !== ANONYMOUS ? account.username : undefined;
  };

  const logLimiter = repeatLimiter(LOG_REPEAT_MS);
  const deny = (event: DeniedEvent): void => {
    opts.onDenied?.(event);
    const flood = FLOOD_REASONS.has(event.reason);
    const key = flood
      ? `${event.action}|${event.reason}|${event.source}`
      : `${event.action}|${event.reason}|${event.source}|${event.username}|${event.clientId}|${event.topic}`;
    const suppressed = logLimiter(key);
    if (suppressed === undefined) return;
    // A lockout was already logged once by the login guard.
    const level = event.reason === 'throttled' ? 'debug' : 'warn';
    log[level]({ ...event, ...(suppressed > 0 ? { suppressed } : {}) }, `${event.action} denied: ${event.reason}`);
  };

  // ---- connections and the socket-level packet limit -------------------------------------------
  const connections = new WeakMap<Duplex, Connection>();
  const perSource = new Map<string, number>();
  let open = 0;

  /** Counts a new socket against the connection limits; false (and the socket destroyed) when over. */
  const admit = (socket: Socket): boolean => {
    const source = sourceOf(socket);
    const fromSource = perSource.get(source) ?? 0;
    const reason: DenyReason | undefined =
      open >= limits.maxConnections
        ? 'max-connections'
        : fromSource >= limits.maxConnectionsPerSource
          ? 'max-connections-per-source'
          : undefined;
    if (reason) {
      socket.destroy();
      deny({ action: 'connection', clientId: '', reason, source });
      return false;
    }
    open++;
    perSource.set(source, fromSource + 1);
    socket.once('close', () => {
      open--;
      const n = (perSource.get(source) ?? 1) - 1;
      if (n > 0) perSource.set(source, n);
      else perSource.delete(source);
    });
    return true;
  };

  /** Wraps what aedes reads from: every packet's announced size is checked before it is buffered. */
  const guarded = (inner: Duplex, source: string): GuardedStream => {
    const scanner = new PacketScanner(limits.maxConnectPacketBytes);
    const stream: GuardedStream = new GuardedStream(inner, scanner, (v: PacketViolation) => {
      const client = (stream as unknown as { client?: Client }).client;
      deny({
        action: 'packet',
        clientId: client?.id ?? '',
        username: usernameOf(client ?? null),
        reason: v.reason,
        source,
        ...(v.reason === 'packet-too-large' ? { bytes: v.announced } : {}),
      });
    });
    const conn: Connection = { source, scanner };
    connections.set(stream, conn);
    stream.once('close', () => releaseClientId(conn, (stream as unknown as { client?: Client }).client));
    return stream;
  };
  const connectionOf = (client: Client): Connection | undefined => connections.get(client.conn as Duplex);

  // ---- client ids --------------------------------------------------------------------------------
  const owners = new Map<string, ClientIdOwner>();
  /** Client ids as sent in CONNECT (aedes replaces an empty one by a generated id). */
  const sentIds = new WeakMap<Client, string>();

  /** The device account whose namespace the id is in (`bin-7`, `bin-7:...`), if any. */
  const deviceNamespaceOf = (clientId: string): string | undefined => {
    const sep = clientId.indexOf(CLIENT_ID_SEPARATOR);
    const name = sep < 0 ? clientId : clientId.slice(0, sep);
    return credentials.get(name)?.account.role === 'device' ? name : undefined;
  };

  /** Refuses a client id this account may not use; binds it to the account otherwise. */
  function claimClientId(client: Client, account: AclAccount): void {
    const id = client.id;
    const username = account === ANONYMOUS ? undefined : account.username;
    const ns = deviceNamespaceOf(id);
    if (account.role === 'device' && account !== ANONYMOUS) {
      if (ns !== account.username || sentIds.get(client) === '') {
        throw refusal(client, username, IDENTIFIER_REJECTED, 'client-id-namespace');
      }
    } else if (ns !== undefined) {
      throw refusal(client, username, IDENTIFIER_REJECTED, 'client-id-namespace');
    }
    const owner = owners.get(id);
    if (owner && owner.username !== account.username) {
      // §3.1.4: a CONNECT with a connected client's id would disconnect it; an existing session would be resumed.
      throw refusal(client, username, IDENTIFIER_REJECTED, 'client-id-taken');
    }
    const conn = connectionOf(client);
    const claim = owner ?? { username: account.username, persistent: false, clients: new Set<Client>() };
    // [MQTT-3.1.2-6]: clean session discards any previous session of this id.
    claim.persistent = !client.clean;
    claim.clients.add(client);
    owners.set(id, claim);
    if (conn) conn.boundId = id;
  }

  function releaseClientId(conn: Connection, client: Client | undefined): void {
    if (conn.boundId === undefined || !client) return;
    const owner = owners.get(conn.boundId);
    if (!owner) return;
    owner.clients.delete(client);
    if (owner.clients.size === 0 && !owner.persistent) owners.delete(conn.boundId);
  }

  // ---- login -------------------------------------------------------------------------------------
  async function login(client: Client, username?: string, password?: Buffer): Promise<AclAccount> {
    const source = connectionOf(client)?.source ?? 'unknown';
    // [MQTT-3.1.3-8]: a zero-byte client id needs clean session.
    if (sentIds.get(client) === '' && !client.clean) {
      throw refusal(client, username, IDENTIFIER_REJECTED, 'client-id-empty');
    }
    if (username === undefined) {
      if (opts.demo) return ANONYMOUS;
      throw refusal(client, undefined, NOT_AUTHORIZED, 'anonymous');
    }
    const credential = credentials.get(username);
    const outcome = await guard
      .login(source, username, password ?? Buffer.alloc(0), credential?.hash)
      .catch((err: unknown) => {
        log.error({ err, username }, 'password check failed');
        throw refusal(client, username, SERVER_UNAVAILABLE, 'password-check-failed');
      });
    if (!outcome.ok && outcome.reason === 'throttled') {
      // Try again later: the source address or user name is locked out, or password checks are busy.
      throw refusal(client, username, SERVER_UNAVAILABLE, 'throttled');
    }
    if (!outcome.ok || !credential || password === undefined) {
      throw refusal(client, username, BAD_USERNAME_OR_PASSWORD, 'bad-credentials');
    }
    return credential.account;
  }

  function refusal(
    client: Client,
    username: string | undefined,
    code: number,
    reason: DenyReason,
  ): AuthenticateError {
    deny({ action: 'connect', clientId: client.id, username, reason, source: connectionOf(client)?.source });
    return Object.assign(new GatewayError('BROKER_AUTH', `connection refused: ${reason}`), {
      returnCode: code as AuthenticateError['returnCode'],
    });
  }

  // ---- subscriptions and retained messages ------------------------------------------------------
  const subscriptions = new WeakMap<Client, Set<string>>();
  /** Retained messages stored by clients: topic -> bytes (topic + payload). */
  const retained = new Map<string, number>();
  let retainedBytes = 0;

  const retainedRefusal = (topic: string, payload: Buffer): DenyReason | undefined => {
    if (payload.length === 0) return undefined; // clears the retained message (§3.3.1.3)
    const before = retained.get(topic);
    const bytes = Buffer.byteLength(topic) + payload.length;
    if (before === undefined && retained.size >= limits.maxRetainedMessages) return 'max-retained-messages';
    if (retainedBytes - (before ?? 0) + bytes > limits.maxRetainedBytes) return 'max-retained-bytes';
    return undefined;
  };
  const noteRetained = (topic: string, payload: Buffer, byClient: boolean): void => {
    const before = retained.get(topic);
    if (before !== undefined) {
      retainedBytes -= before;
      retained.delete(topic);
    }
    if (byClient && payload.length > 0) {
      const bytes = Buffer.byteLength(topic) + payload.length;
      retained.set(topic, bytes);
      retainedBytes += bytes;
    }
  };

  const aedes = await Aedes.createBroker({
    drainTimeout: opts.drainTimeoutMs ?? limits.drainTimeoutMs,
    connectTimeout: limits.connectTimeoutMs,

    preConnect(client, packet, done) {
      sentIds.set(client, packet.clientId);
      done(null, true);
    },

    authenticate(client, username, password, done) {
      login(client, username, password)
        .then((account) => {
          claimClientId(client, account);
          return account;
        })
        .then(
          (account) => {
            principals.set(client, account);
            const conn = connectionOf(client);
            if (conn) conn.scanner.limit = limits.maxPacketBytes;
            done(null, true);
          },
          (err: AuthenticateError) => done(err, false),
        );
    },

    authorizePublish(client, packet, done) {
      const account = client ? principals.get(client) : undefined;
      const source = client ? connectionOf(client)?.source : undefined;
      const username = usernameOf(client);
      if (!client || !account || !canPublish(account, packet.topic)) {
        // §3.3.5: the server cannot tell the client; it closes the connection [MQTT-3.3.5-2].
        deny({ action: 'publish', clientId: client?.id ?? '', username, topic: packet.topic, reason: 'acl', source });
        return done(new GatewayError('BROKER_PUBLISH_DENIED', `publish to ${packet.topic} not allowed`));
      }
      const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
      if (packet.retain) {
        const reason = retainedRefusal(packet.topic, payload);
        if (reason) {
          deny({ action: 'publish', clientId: client.id, username, topic: packet.topic, reason, source });
          return done(new GatewayError('BROKER_RETAINED_LIMIT', `retained message on ${packet.topic} refused: ${reason}`));
        }
      }
      stampDeliveryClass(packet);
      const accept = () => {
        if (packet.retain) noteRetained(packet.topic, payload, true);
        done(null);
      };
      const hook = opts.onDevicePublish;
      const hold = account.role === 'device' ? opts.holdDevice?.() : undefined;
      if (!hook && !hold) return accept();
      const info: BrokerClientInfo = { id: client.id, username };
      Promise.resolve(hold)
        .then(() => hook?.(info, packet.topic, payload, packet.qos))
        .then(accept, (err: unknown) => {
          log.error({ ...info, topic: packet.topic, err }, 'device publish not accepted');
          done(
            new GatewayError('BROKER_PUBLISH_FAILED', 'device publish not accepted', undefined, {
              cause: err,
            }),
          );
        });
    },

    authorizeSubscribe(client, sub, done) {
      const account = principals.get(client);
      const refuse = (reason: DenyReason) => {
        deny({
          action: 'subscribe',
          clientId: client.id,
          username: usernameOf(client),
          topic: sub.topic,
          reason,
          source: connectionOf(client)?.source,
        });
        // §3.9.3: a null subscription makes aedes answer 0x80 (failure) in the SUBACK.
        done(null, null);
      };
      if (!account || !canSubscribe(account, sub.topic)) return refuse('acl');
      let held = subscriptions.get(client);
      if (!held) {
        held = new Set();
        subscriptions.set(client, held);
      }
      if (!held.has(sub.topic) && held.size >= limits.maxSubscriptionsPerClient) return refuse('max-subscriptions');
      held.add(sub.topic);
      done(null, sub);
    },
  });

  (aedes as EventEmitter).on('error', (err: Error) => log.error({ err }, 'broker error'));
  aedes.on('clientReady', (client) =>
    log.debug({ clientId: client.id, username: usernameOf(client) }, 'client connected'),
  );
  aedes.on('clientDisconnect', (client) => log.debug({ clientId: client.id }, 'client disconnected'));
  aedes.on('unsubscribe', (filters: string[], client: Client) => {
    const held = subscriptions.get(client);
    for (const f of filters) held?.delete(f);
  });
  const onClientError = (client: Client, err: Error) => {
    // Our own refusals were logged and counted where they happened.
    if (err instanceof GatewayError) return;
    const fields = { clientId: client.id ?? '', username: usernameOf(client), source: connectionOf(client)?.source };
    if ((err as NodeJS.ErrnoException).code !== undefined || err.message === 'connection closed') {
      // The network (reset, broken pipe) or a connection already going away: not a refusal.
      log.info({ ...fields, err: err.message }, 'client connection error');
    } else if (err.message === 'drain timeout') {
      // aedes disconnected a client that stopped taking its messages (drainTimeout).
      deny({ action: 'connection', ...fields, reason: 'slow-consumer' });
    } else if (/keep ?alive timeout|connect did not arrive/i.test(err.message)) {
      deny({ action: 'connection', ...fields, reason: 'timeout', detail: err.message });
    } else {
      // mqtt-packet or aedes refused what the client sent (malformed packet, invalid topic, ...).
      deny({ action: 'packet', ...fields, reason: 'protocol-error', detail: err.message });
    }
  };
  aedes.on('clientError', onClientError);
  aedes.on('connectionError', onClientError);

  const sockets = new Set<Socket>();
  const track = (socket: Socket): boolean => {
    if (closing || !admit(socket)) return false;
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    return true;
  };
  const servers: (NetServer | HttpServer)[] = [];
  const wsServers: WebSocketServer[] = [];
  const listeners: BoundListener[] = [];

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      const stopped = servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve())));
      for (const wss of wsServers) {
        for (const ws of wss.clients) ws.terminate();
        wss.close();
      }
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      // Connections that never completed CONNECT are not aedes clients.
      for (const socket of sockets) socket.destroy();
      await Promise.all(stopped);
      log.info('broker closed');
    })();
    return closing;
  };

  try {
    for (const l of config.listeners) {
      if (l.type === 'tcp') {
        const server = createNetServer((socket) => {
          if (!track(socket)) return;
          // Alarms must not wait for Nagle's algorithm to fill a segment (RFC 896) on a local bus.
          socket.setNoDelay(true);
          aedes.handle(guarded(socket, sourceOf(socket)));
        });
        servers.push(server);
        listeners.push({ type: 'tcp', host: l.host, port: await listen(server, l.host, l.port) });
      } else {
        // MQTT 3.1.1 §6: MQTT over WebSocket, binary frames, sub-protocol "mqtt".
        const server = createHttpServer((_req, res) => {
          res.writeHead(426, { 'content-type': 'text/plain' }).end('MQTT over WebSocket: connect to /mqtt\n');
        });
        server.on('connection', track);
        const wss = new WebSocketServer({
          server,
          path: '/mqtt',
          // One WebSocket message is at most one packet's worth; the byte check below applies too.
          maxPayload: limits.maxPacketBytes,
          handleProtocols: (protocols) => (protocols.has('mqtt') ? 'mqtt' : false),
        });
        wss.on('connection', (ws, req) =>
          aedes.handle(guarded(createWebSocketStream(ws), sourceOf(req.socket)), req),
        );
        wss.on('error', (err) => log.error({ err }, 'websocket listener error'));
        servers.push(server);
        wsServers.push(wss);
        listeners.push({ type: 'ws', host: l.host, port: await listen(server, l.host, l.port) });
      }
    }
  } catch (err) {
    await close();
    throw err;
  }
  log.info(
    { listeners, accounts: credentials.size, demo: opts.demo, limits, login: loginLimits },
    'broker listening',
  );

  const publish: RunningBroker['publish'] = (topic, payload, publishOpts) => {
    if (closing) return Promise.reject(new GatewayError('BROKER_CLOSED', 'the broker is closed'));
    const packet: PublishPacket = {
      cmd: 'publish',
      topic,
      payload: typeof payload === 'string' ? Buffer.from(payload) : payload,
      qos: publishOpts?.qos ?? 0,
      retain: publishOpts?.retain ?? false,
      dup: false,
    };
    stampDeliveryClass(packet);
    if (packet.retain) noteRetained(topic, packet.payload as Buffer, false);
    return new Promise((resolve, reject) => aedes.publish(packet, (err) => (err ? reject(err) : resolve())));
  };

  const stats = (): BrokerStats => ({
    connections: open,
    sources: perSource.size,
    retainedMessages: retained.size,
    retainedBytes,
    boundClientIds: owners.size,
  });

  return { aedes, listeners, loginGuard: guard, publish, stats, close };
}

/** The remote address as one string per host: IPv4-mapped IPv6 addresses in their IPv4 form. */
function sourceOf(socket: Socket): string {
  const addr = socket.remoteAddress ?? 'unknown';
  return addr.startsWith('::ffff:') ? addr.slice(7) : addr;
}

/**
 * Lets one log line through per key and interval; returns how many were suppressed since the last
 * one, or undefined when this one is suppressed. Keeps at most 10,000 keys.
 */
function repeatLimiter(intervalMs: number): (key: string) => number | undefined {
  const seen = new Map<string, { at: number; suppressed: number }>();
  return (key) => {
    const now = Date.now();
    const entry = seen.get(key);
    if (entry && now - entry.at < intervalMs) {
      entry.suppressed++;
      return undefined;
    }
    seen.delete(key);
    seen.set(key, { at: now, suppressed: 0 });
    if (seen.size > 10_000) seen.delete(seen.keys().next().value!);
    return entry?.suppressed ?? 0;
  };
}

/**
 * aedes gives every message a broker-wide counter and a client drops any message whose
 * counter is not above the last one it received (its duplicate check), but QoS 0/1 and
 * retained/plain messages take different numbers of asynchronous steps through aedes, so a
 * QoS 1 message published just before a QoS 0 one arrives second and is silently dropped.
 * Counting per delivery class (QoS x retain), each with its own broker id, keeps the check
 * working within a class, where aedes preserves order, and stops it dropping across classes.
 */
function deliveryClassStamper(): (packet: { qos: number; retain: boolean }) => void {
  const prefix = randomUUID();
  const counters = new Map<string, number>();
  return (packet) => {
    const cls = `${prefix}:q${packet.qos}${packet.retain ? 'r' : ''}`;
    const n = (counters.get(cls) ?? 0) + 1;
    counters.set(cls, n);
    Object.assign(packet, { brokerId: cls, brokerCounter: n });
  };
}

/** Parses every account's hash once, at start; refuses duplicate names and malformed filters. */
function loadAccounts(accounts: readonly Account[]): Map<string, Credential> {
  const byName = new Map<string, Credential>();
  for (const account of accounts) {
    const where = `broker account "${account.username}"`;
    if (byName.has(account.username)) {
      throw new GatewayError('BROKER_ACCOUNTS', `${where} is listed twice`, 'user names must be unique');
    }
    for (const filter of [...(account.publish ?? []), ...(account.subscribe ?? [])]) {
      if (!isValidFilter(filter)) {
        throw new GatewayError('BROKER_ACCOUNTS', `${where}: "${filter}" is not a valid MQTT topic filter`);
      }
    }
    let hash: ParsedHash;
    try {
      hash = parsePasswordHash(account.passwordHash);
    } catch (err) {
      throw new GatewayError(
        'BROKER_ACCOUNTS',
        `${where}: malformed passwordHash`,
        'create it with `gateway hash-password`',
        {
          cause: err,
        },
      );
    }
    byName.set(account.username, { account, hash });
  }
  return byName;
}

function listen(server: NetServer | HttpServer, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) =>
      reject(
        new GatewayError(
          'BROKER_LISTEN',
          `cannot listen on ${host}:${port}: ${err.message}`,
          'is the port in use? see broker.listeners',
          {
            cause: err,
          },
        ),
      );
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}
