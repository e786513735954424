/**
 * The MQTT connection to the city broker: one MQTT.js client per attempt (its own reconnect is
 * off: retries are paced here with exponential backoff and jitter, and MQTT.js never replays a
 * store of its own), TLS and credentials from files, MQTT 5 with a fallback to 3.1.1 when the
 * protocol is `auto`, and a classified failure (code and hint) for each lost or refused attempt.
 *
 * Every attempt has a generation number; events of an older client are ignored.
 */
import { readFileSync } from 'node:fs';
import {
  connect,
  type IClientOptions,
  type IClientPublishOptions,
  type IPublishPacket,
  type MqttClient,
} from 'mqtt';
import { Backoff, jittered } from '../core/backoff.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import { type ConnectFailure, classifyConnectError } from './connect-errors.js';
import type { Link, LinkState } from './link-state.js';
import type { UplinkConfig } from './uplink-config.js';

export interface ConnectionHooks {
  /** CONNACK received on the current attempt (failure count already reset). */
  onConnected: (gen: number, client: MqttClient, receiveMaximum: number | undefined) => void;
  /** The current client is gone (lost, refused or closing); called before the retry is planned. */
  onDown: () => void;
  /** A message on the current connection. */
  onMessage: (topic: string, payload: Buffer, packet: IPublishPacket) => void;
}

export interface UplinkConnectionOptions {
  config: UplinkConfig;
  site: string;
  gateway: string;
  link: Link;
  /** The Last Will of the next attempt. */
  will: () => NonNullable<IClientOptions['will']>;
  hooks: ConnectionHooks;
  metrics: Metrics;
  log: Logger;
  random?: () => number;
}

/** Spread of the slow retry after an auth refusal: uplink.backoff.authFailureMs ± 20 %. */
const AUTH_JITTER = 0.2;

/**
 * The retry pace after network failures: uplink.backoff.initialMs doubling to maxMs, with equal
 * jitter (half fixed, half random): when the city broker comes back after an outage, every
 * gateway of the city reconnects, so the spread is wide, and the fixed half keeps a floor.
 * A maxMs below initialMs caps every delay at maxMs.
 */
export function uplinkBackoff(c: UplinkConfig['backoff'], random?: () => number): Backoff {
  return new Backoff({ initialMs: Math.min(c.initialMs, c.maxMs), maxMs: c.maxMs, kind: 'equal', random });
}

export class UplinkConnection {
  private current?: MqttClient;
  private generation = 0;
  private version: 4 | 5;
  private readonly backoff: Backoff;
  private timer?: NodeJS.Timeout;
  private stopping = false;
  private failure?: ConnectFailure;

  constructor(private readonly o: UplinkConnectionOptions) {
    this.version = o.config.protocol === '3.1.1' ? 4 : 5;
    this.backoff = uplinkBackoff(o.config.backoff, o.random);
  }

  get client(): MqttClient | undefined {
    return this.current;
  }

  /** Generation of the current attempt. */
  get gen(): number {
    return this.generation;
  }

  get protocol(): 4 | 5 {
    return this.version;
  }

  get connectedProtocol(): '5' | '3.1.1' {
    return this.version === 5 ? '5' : '3.1.1';
  }

  get state(): LinkState {
    return this.o.link.state;
  }

  get closing(): boolean {
    return this.stopping;
  }

  get lastFailure(): ConnectFailure | undefined {
    return this.failure;
  }

  /** The broker URL without user info (never log a password given in the URL). */
  get safeUrl(): string {
    return this.o.config.url.replace(/\/\/[^@/]*@/, '//');
  }

  start(): void {
    this.stopping = false;
    this.connect();
  }

  /**
   * Stops retrying and ends the client: gracefully when connected (`farewell` is published
   * first, then DISCONNECT, 2 s at most), at once otherwise.
   */
  async close(farewell: () => Promise<void>): Promise<void> {
    this.stopping = true;
    clearTimeout(this.timer);
    const client = this.current;
    const wasConnected = this.o.link.state === 'connected';
    if (client && wasConnected) {
      await farewell();
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          client.end(true);
          resolve();
        }, 2000);
        client.end(false, {}, () => {
          clearTimeout(t);
          resolve();
        });
      });
    } else client?.end(true);
    this.generation += 1;
    this.current = undefined;
  }

  /** Publishes outside the outbox (status, command responses): only while connected. */
  publish(
    topic: string,
    payload: string,
    o: { qos: 0 | 1; retain?: boolean; correlationData?: Buffer },
    timeoutMs = 10_000,
  ): Promise<void> {
    const client = this.current;
    if (!client || this.o.link.state !== 'connected')
      return Promise.reject(new Error('the city broker is not connected'));
    const opts: IClientPublishOptions = { qos: o.qos, retain: o.retain ?? false };
    if (this.version === 5 && o.correlationData) opts.properties = { correlationData: o.correlationData };
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no PUBACK in time')), timeoutMs);
      client.publish(topic, payload, opts, (err) => {
        clearTimeout(t);
        if (err) reject(err);
        else resolve();
      });
    });
  }

  private connect(): void {
    if (this.stopping) return;
    const gen = ++this.generation;
    this.o.link.set('connecting');
    let opts: IClientOptions;
    try {
      opts = this.clientOptions();
    } catch (err) {
      this.onClosed(gen, undefined, false, classifyConnectError(err, this.version));
      return;
    }
    let client: MqttClient;
    try {
      client = connect(this.o.config.url, opts);
    } catch (err) {
      this.onClosed(gen, undefined, false, classifyConnectError(err, this.version));
      return;
    }
    this.current = client;
    let connacked = false;
    let failure: ConnectFailure | undefined;
    client.on('connect', (connack) => {
      if (gen !== this.generation) return;
      connacked = true;
      // No Nagle: a PUBLISH is small and the window waits for its PUBACK (delayed-ACK stalls otherwise).
      (client.stream as { setNoDelay?: (on: boolean) => void } | undefined)?.setNoDelay?.(true);
      this.backoff.reset();
      this.failure = undefined;
      this.o.hooks.onConnected(gen, client, connack.properties?.receiveMaximum);
    });
    client.on('error', (err) => {
      if (gen === this.generation) failure ??= classifyConnectError(err, this.version);
    });
    client.on('close', () => {
      if (gen === this.generation) this.onClosed(gen, client, connacked, failure);
    });
    client.on('message', (topic, payload, packet) => {
      if (gen !== this.generation) return;
      this.o.hooks.onMessage(topic, payload, packet);
    });
  }

  private clientOptions(): IClientOptions {
    const c = this.o.config;
    const password = c.passwordFile ? readFileSync(c.passwordFile, 'utf8').replace(/\r?\n$/, '') : c.password;
    const tls = c.tls;
    return {
      protocolVersion: this.version,
      clientId: c.clientId ?? `${this.o.site}-${this.o.gateway}`,
      username: c.username,
      password,
      clean: true,
      keepalive: c.keepaliveS,
      connectTimeout: c.connectTimeoutMs,
      reconnectPeriod: 0, // our own backoff with jitter (MQTT.js retries at a fixed period)
      queueQoSZero: false, // the outbox is the only queue
      resubscribe: false,
      will: this.o.will(),
      ...(this.version === 5 ? { properties: { sessionExpiryInterval: 0 } } : {}),
      ...(tls
        ? {
            ca: tls.caFile ? readFileSync(tls.caFile) : undefined,
            cert: tls.certFile ? readFileSync(tls.certFile) : undefined,
            key: tls.keyFile ? readFileSync(tls.keyFile) : undefined,
            servername: tls.servername,
            rejectUnauthorized: !tls.insecureSkipVerify,
          }
        : {}),
    };
  }

  private onClosed(
    gen: number,
    client: MqttClient | undefined,
    connacked: boolean,
    failure: ConnectFailure | undefined,
  ): void {
    if (client) {
      client.removeAllListeners('close');
      client.removeAllListeners('message');
      client.removeAllListeners('connect');
      client.on('error', () => {}); // late errors of a dead client are not ours any more
      client.end(true);
    }
    if (gen === this.generation) this.current = undefined;
    this.o.hooks.onDown();
    if (this.stopping) return;
    const c = this.o.config;
    let f = failure;
    if (!f) {
      f = connacked
        ? {
            reason: 'lost',
            code: 'UPLINK_LOST',
            detail: 'connection to the city broker lost',
            hint: 'reconnecting with backoff; the outbox keeps everything',
          }
        : {
            reason: 'unreachable',
            code: 'UPLINK_NO_CONNACK',
            detail: 'no CONNACK from the city broker (closed or timed out)',
            hint: 'check uplink.url, uplink.protocol and uplink.connectTimeoutMs',
          };
    }
    const silent = !failure && !connacked;
    this.failure = f;
    this.o.metrics.uplinkConnectFailures.inc({ reason: f.reason });
    let fallback = false;
    if (c.protocol === 'auto' && !connacked && (f.reason === 'protocol' || silent)) {
      // MQTT 5 refused (or no answer to it): try 3.1.1 next (and 5 again if 3.1.1 fails the same way).
      this.version = this.version === 5 ? 4 : 5;
      fallback = true;
    }
    if (connacked) this.backoff.reset();
    const networkDelay = this.backoff.next(); // every failure counts, whatever paces this retry
    const delay =
      f.reason === 'auth'
        ? jittered(c.backoff.authFailureMs, AUTH_JITTER, this.o.random)
        : fallback && f.reason === 'protocol' && this.version === 4
          ? Math.min(c.backoff.initialMs, 1000) // an explicit "not MQTT 5": retry 3.1.1 at once
          : networkDelay;
    const fields = {
      code: f.code,
      err: f.detail,
      hint: f.hint,
      attempt: this.backoff.attempts,
      retryInMs: delay,
      url: this.safeUrl,
    };
    if (fallback)
      this.o.log.warn(
        { ...fields, protocol: this.connectedProtocol },
        'uplink: switching MQTT protocol version',
      );
    else if (f.reason === 'auth' || f.reason === 'tls' || f.reason === 'config' || f.reason === 'refused')
      this.o.log.error(fields, 'uplink connection failed');
    else this.o.log.warn(fields, connacked ? 'uplink connection lost' : 'uplink connection failed');
    this.o.link.set('backoff', { last_error: `${f.code}: ${f.detail}` });
    this.timer = setTimeout(() => this.connect(), delay);
  }
}
