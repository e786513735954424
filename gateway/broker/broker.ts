import type { EventEmitter } from 'node:events';
import type { Server as HttpServer } from 'node:http';
import type { Server as NetServer, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { Aedes, type AuthenticateError, type Client, type PublishPacket } from 'aedes';
import mqttPacket from 'mqtt-packet';
import type { WebSocketServer } from 'ws';
import { LoginGuard } from '../auth/login-guard.js';
import { GatewayError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { loadAccounts } from './accounts.js';
import { type AclAccount, ANONYMOUS, canPublish, canSubscribe } from './acl.js';
import { type BrokerConfigInput, BrokerLimits, BrokerLogin } from './broker-config.js';
import { ClientIdOwners } from './client-ids.js';
import { boundedSessionStore } from './session-queue-limit.js';
import { connectLogin } from './connect-login.js';
import { ConnectionLimits, sourceOf } from './connection-limits.js';
import { deliveryClassStamper } from './delivery-class.js';
import type { DeniedEvent, DenyReason } from './deny-reasons.js';
import type { DeviceState } from './device-state.js';
import { type ListenerHooks, listen, tcpServer, webSocketServer } from './listeners.js';
import { GuardedStream, PacketScanner, type PacketViolation } from './packet-limit.js';
import { refusalLogger } from './refusal-log.js';
import { RetainedBudget } from './retained-budget.js';
import { SubscriptionLimit } from './subscription-limit.js';

/**
 * The embedded local broker (aedes, MQTT 3.1.1): the compound's local bus.
 * Per-account credentials (scrypt hashes, checked through a {@link LoginGuard}), topic ACLs, client
 * ids bound to accounts, and limits on packet size (checked at the socket, before login),
 * connections, subscriptions and retained messages. Anonymous read-only access in demo mode only.
 * This file wires them into aedes and the listeners; each concern lives in its own file beside it.
 */

/**
 * mqtt-packet, the encoder of aedes and of MQTT.js, builds at its first packet a cache of 65,536
 * two-byte Buffers (one per packet id and length prefix): about 7 MB of live heap for the whole
 * life of the process, some 11 MB of RSS once V8's heap grows around it, to save a two-byte
 * allocation per number written. Off before any packet is written (the cache is built then or never).
 */
mqttPacket.writeToStream.cacheNumbers = false;

export { CLIENT_ID_SEPARATOR } from './client-ids.js';
export type { DeniedEvent, DenyReason } from './deny-reasons.js';

export interface BrokerClientInfo {
  id: string;
  username?: string;
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
  /** The devices' retained state (`<root>/state/...`), held by the gateway: hooked in before any client connects. */
  deviceState?: DeviceState;
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
  /** As `publish`, calling back instead of a promise per message (the local bus, per event). */
  send(topic: string, payload: string | Buffer, opts: { retain: boolean; qos: 0 | 1 }, done: (err?: Error) => void): void;
  stats(): BrokerStats;
  close(): Promise<void>;
}

/** What the broker knows about one accepted connection (TCP socket or WebSocket). */
interface Connection {
  source: string;
  scanner: PacketScanner;
  /** The client id this connection was bound to at login. */
  boundId?: string;
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

  const logRefusal = refusalLogger(log);
  const deny = (event: DeniedEvent): void => {
    opts.onDenied?.(event);
    logRefusal(event);
  };

  // ---- connections and the socket-level packet limit -------------------------------------------
  const connections = new WeakMap<Duplex, Connection>();
  const connectionLimits = new ConnectionLimits(limits);

  /** Counts a new socket against the connection limits; false (and the socket destroyed) when over. */
  const admit = (socket: Socket): boolean => {
    const source = sourceOf(socket);
    const reason = connectionLimits.admit(source);
    if (reason) {
      socket.destroy();
      deny({ action: 'connection', clientId: '', reason, source });
      return false;
    }
    socket.once('close', () => connectionLimits.release(source));
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
    stream.once('close', () => clientIds.release(conn.boundId, (stream as unknown as { client?: Client }).client));
    return stream;
  };
  const connectionOf = (client: Client): Connection | undefined => connections.get(client.conn as Duplex);

  // ---- client ids --------------------------------------------------------------------------------
  const clientIds = new ClientIdOwners(
    (name) => credentials.get(name)?.account.role === 'device',
    limits.maxPersistentSessionsPerAccount,
  );

  // ---- login -------------------------------------------------------------------------------------
  const { login, claimClientId } = connectLogin({
    demo: opts.demo,
    guard,
    credentials,
    clientIds,
    log,
    sourceOf: (client) => connectionOf(client)?.source,
    deny,
  });

  // ---- subscriptions and retained messages ------------------------------------------------------
  const subscriptions = new SubscriptionLimit(limits.maxSubscriptionsPerClient);
  const retained = new RetainedBudget(limits);

  const sessions = boundedSessionStore(limits.maxQueuedPerSession, (clientId) =>
    deny({ action: 'deliver', clientId, reason: 'session-queue-full' }),
  );
  const aedes = await Aedes.createBroker({
    persistence: sessions.persistence,
    drainTimeout: opts.drainTimeoutMs ?? limits.drainTimeoutMs,
    connectTimeout: limits.connectTimeoutMs,

    preConnect(client, packet, done) {
      clientIds.noteSent(client, packet.clientId);
      done(null, true);
    },

    authenticate(client, username, password, done) {
      login(client, username, password)
        .then((account) => {
          claimClientId(client, account);
          const conn = connectionOf(client);
          if (conn) conn.boundId = client.id;
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
        const reason = retained.refusal(packet.topic, payload);
        if (reason) {
          deny({ action: 'publish', clientId: client.id, username, topic: packet.topic, reason, source });
          return done(new GatewayError('BROKER_RETAINED_LIMIT', `retained message on ${packet.topic} refused: ${reason}`));
        }
      }
      stampDeliveryClass(packet);
      const accept = () => {
        if (packet.retain) retained.note(packet.topic, payload, true);
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
      if (!subscriptions.add(client, sub.topic)) return refuse('max-subscriptions');
      done(null, sub);
    },
  });

  opts.deviceState?.attach(aedes, sessions.persistence);
  (aedes as EventEmitter).on('error', (err: Error) => log.error({ err }, 'broker error'));
  aedes.on('clientReady', (client) =>
    log.debug({ clientId: client.id, username: usernameOf(client) }, 'client connected'),
  );
  aedes.on('clientDisconnect', (client) => log.debug({ clientId: client.id }, 'client disconnected'));
  aedes.on('unsubscribe', (filters: string[], client: Client) => subscriptions.remove(client, filters));
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

  const hooks: ListenerHooks = {
    accept: track,
    handle: (stream, source, req) => aedes.handle(guarded(stream, source), req),
  };
  try {
    for (const l of config.listeners) {
      if (l.type === 'tcp') {
        const server = tcpServer(hooks);
        servers.push(server);
        listeners.push({ type: 'tcp', host: l.host, port: await listen(server, l.host, l.port) });
      } else {
        const { server, wss } = webSocketServer(hooks, limits.maxPacketBytes, log);
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

  const send: RunningBroker['send'] = (topic, payload, publishOpts, done) => {
    if (closing) return done(new GatewayError('BROKER_CLOSED', 'the broker is closed'));
    const { qos, retain } = publishOpts;
    const packet: PublishPacket = { cmd: 'publish', topic, payload: typeof payload === 'string' ? Buffer.from(payload) : payload, qos, retain, dup: false };
    stampDeliveryClass(packet);
    if (packet.retain) retained.note(topic, packet.payload as Buffer, false);
    aedes.publish(packet, (err) => done(err ?? undefined));
  };
  const publish: RunningBroker['publish'] = (topic, payload, o) =>
    new Promise((resolve, reject) =>
      send(topic, payload, { qos: o?.qos ?? 0, retain: o?.retain ?? false }, (err) => (err ? reject(err) : resolve())),
    );

  const stats = (): BrokerStats => ({
    connections: connectionLimits.connections,
    sources: connectionLimits.sources,
    retainedMessages: retained.messages,
    retainedBytes: retained.bytes,
    boundClientIds: clientIds.size,
  });

  return { aedes, listeners, loginGuard: guard, publish, send, stats, close };
}
