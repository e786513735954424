import { randomBytes, randomUUID } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import {
  type AddressInfo,
  createServer as createNetServer,
  type Server as NetServer,
  type Socket,
} from 'node:net';
import { Aedes, type AuthenticateError, type Client, type PublishPacket } from 'aedes';
import { createWebSocketStream, WebSocketServer } from 'ws';
import { GatewayError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { type AclAccount, ANONYMOUS, canPublish, canSubscribe, isValidFilter } from './acl.js';
import type { Account, BrokerConfig } from './broker-config.js';
import { type ParsedHash, parsePasswordHash, verifyPasswordAsync } from './password.js';

/**
 * The embedded local broker (aedes, MQTT 3.1.1): the compound's local bus.
 * Per-account credentials (scrypt hashes) and topic ACLs; anonymous read-only access in demo mode only.
 */

export interface BrokerClientInfo {
  id: string;
  username?: string;
}

export interface DeniedEvent {
  action: 'connect' | 'publish' | 'subscribe';
  clientId: string;
  username?: string;
  topic?: string;
  reason: string;
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
  /** Called on every refused connection, publish and subscription (for metrics). */
  onDenied?: (event: DeniedEvent) => void;
  /** Disconnects a client whose socket does not drain for this long, so it cannot stall deliveries. */
  drainTimeoutMs?: number;
}

export interface BoundListener {
  type: 'tcp' | 'ws';
  host: string;
  port: number;
}

export interface RunningBroker {
  aedes: Aedes;
  listeners: BoundListener[];
  /** Publishes as the gateway itself: no ACL, no `onDevicePublish`. */
  publish(topic: string, payload: string | Buffer, opts?: { retain?: boolean; qos?: 0 | 1 }): Promise<void>;
  close(): Promise<void>;
}

const DEFAULT_DRAIN_TIMEOUT_MS = 5_000;

// §3.2.2.3 CONNACK return codes.
const SERVER_UNAVAILABLE = 3;
const BAD_USERNAME_OR_PASSWORD = 4;
const NOT_AUTHORIZED = 5;

/** Used for unknown user names so a refusal takes as long as a wrong password. */
const DUMMY_HASH: ParsedHash = { N: 16384, r: 8, p: 1, salt: randomBytes(16), hash: randomBytes(32) };

interface Credential {
  account: Account;
  hash: ParsedHash;
}

export async function startBroker(config: BrokerConfig, opts: StartBrokerOptions): Promise<RunningBroker> {
  const log = opts.log.child({ component: 'broker' });
  const credentials = loadAccounts(config.accounts);
  const principals = new WeakMap<Client, AclAccount>();
  const stampDeliveryClass = deliveryClassStamper();

  const usernameOf = (client: Client | null): string | undefined => {
    const account = client ? principals.get(client) : undefined;
    return account && account !== ANONYMOUS ? account.username : undefined;
  };

  const deny = (event: DeniedEvent): void => {
    log.warn(event, `${event.action} denied`);
    opts.onDenied?.(event);
  };

  async function login(client: Client, username?: string, password?: Buffer): Promise<AclAccount> {
    if (username === undefined) {
      if (opts.demo) return ANONYMOUS;
      throw refusal(client, undefined, NOT_AUTHORIZED, 'anonymous access is only allowed in demo mode');
    }
    const credential = credentials.get(username);
    const ok = await verifyPasswordAsync(password ?? Buffer.alloc(0), credential?.hash ?? DUMMY_HASH).catch(
      (err: unknown) => {
        log.error({ err, username }, 'password check failed');
        throw refusal(client, username, SERVER_UNAVAILABLE, 'password check failed');
      },
    );
    if (!credential || !ok || password === undefined) {
      throw refusal(client, username, BAD_USERNAME_OR_PASSWORD, 'bad user name or password');
    }
    return credential.account;
  }

  function refusal(
    client: Client,
    username: string | undefined,
    code: number,
    reason: string,
  ): AuthenticateError {
    deny({ action: 'connect', clientId: client.id, username, reason });
    return Object.assign(new GatewayError('BROKER_AUTH', reason), {
      returnCode: code as AuthenticateError['returnCode'],
    });
  }

  const aedes = await Aedes.createBroker({
    drainTimeout: opts.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS,

    authenticate(client, username, password, done) {
      login(client, username, password).then(
        (account) => {
          principals.set(client, account);
          done(null, true);
        },
        (err: AuthenticateError) => done(err, false),
      );
    },

    authorizePublish(client, packet, done) {
      const account = client ? principals.get(client) : undefined;
      if (!client || !account || !canPublish(account, packet.topic)) {
        // §3.3.5: the server cannot tell the client; it closes the connection [MQTT-3.3.5-2].
        const username = usernameOf(client);
        deny({ action: 'publish', clientId: client?.id ?? '', username, topic: packet.topic, reason: 'ACL' });
        return done(new GatewayError('BROKER_PUBLISH_DENIED', `publish to ${packet.topic} not allowed`));
      }
      stampDeliveryClass(packet);
      const hook = opts.onDevicePublish;
      if (!hook) return done(null);
      const info: BrokerClientInfo = { id: client.id, username: usernameOf(client) };
      const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
      Promise.resolve()
        .then(() => hook(info, packet.topic, payload, packet.qos))
        .then(
          () => done(null),
          (err: unknown) => {
            log.error({ ...info, topic: packet.topic, err }, 'device publish not accepted');
            done(
              new GatewayError('BROKER_PUBLISH_FAILED', 'device publish not accepted', undefined, {
                cause: err,
              }),
            );
          },
        );
    },

    authorizeSubscribe(client, sub, done) {
      const account = principals.get(client);
      if (!account || !canSubscribe(account, sub.topic)) {
        deny({
          action: 'subscribe',
          clientId: client.id,
          username: usernameOf(client),
          topic: sub.topic,
          reason: 'ACL',
        });
        // §3.9.3: a null subscription makes aedes answer 0x80 (failure) in the SUBACK.
        return done(null, null);
      }
      done(null, sub);
    },
  });

  (aedes as EventEmitter).on('error', (err: Error) => log.error({ err }, 'broker error'));
  aedes.on('clientReady', (client) =>
    log.debug({ clientId: client.id, username: usernameOf(client) }, 'client connected'),
  );
  aedes.on('clientDisconnect', (client) => log.debug({ clientId: client.id }, 'client disconnected'));
  const onClientError = (client: Client, err: Error) => {
    // Our own refusals were logged where they happened.
    if (err instanceof GatewayError) return;
    log.info(
      { clientId: client.id, username: usernameOf(client), err: err.message },
      'client connection error',
    );
  };
  aedes.on('clientError', onClientError);
  aedes.on('connectionError', onClientError);

  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
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
          // Alarms must not wait for Nagle's algorithm to fill a segment (RFC 896) on a local bus.
          socket.setNoDelay(true);
          track(socket);
          aedes.handle(socket);
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
          handleProtocols: (protocols) => (protocols.has('mqtt') ? 'mqtt' : false),
        });
        wss.on('connection', (ws, req) => aedes.handle(createWebSocketStream(ws), req));
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
  log.info({ listeners, accounts: credentials.size, demo: opts.demo }, 'broker listening');

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
    return new Promise((resolve, reject) => aedes.publish(packet, (err) => (err ? reject(err) : resolve())));
  };

  return { aedes, listeners, publish, close };
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
