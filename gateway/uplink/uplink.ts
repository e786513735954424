/**
 * Store-and-forward uplink to the city platform. One MQTT.js client per
 * connection attempt (its own reconnect is off: we pace retries with backoff and jitter, and
 * MQTT.js never replays a store of its own). The outbox in SQLite is the only queue: rows are
 * published only while connected, at most `inflightWindow` unacknowledged, alarms lane first,
 * FIFO within a lane, and deleted only on PUBACK. After a reconnect everything unacknowledged
 * is pending again and is published with `historical: true`.
 */
import { readFileSync } from 'node:fs';
import type Database from 'better-sqlite3';
import {
  connect,
  ErrorWithReasonCode,
  type IClientOptions,
  type IClientPublishOptions,
  type MqttClient,
} from 'mqtt';
import type { Execute } from '../commands/commands.js';
import type { Birth, GatewayStatus } from '../core/contract-payloads.js';
import type { DeviceEvent } from '../core/envelope.js';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import { topics } from '../core/topics.js';
import { backoffDelay, type ConnectFailure, classifyConnectError } from './connect-errors.js';
import { LANES, type LaneStats, laneOf, Outbox, type OutboxRow, TELEMETRY } from './outbox.js';
import { type CommandResult, PlatformCommands } from './platform-commands.js';
import type { UplinkConfig } from './uplink-config.js';

const ACK_BATCH = 2000;
const ACK_DELAY_MS = 20;

export type LinkState = 'stopped' | 'connecting' | 'connected' | 'backoff';

export interface UplinkOptions {
  config: UplinkConfig;
  site: string;
  gateway: string;
  root: string;
  version: string;
  /** The journal's database: the outbox and the command audit live there. */
  db: Database.Database;
  /** Gateway events (e.g. `gateway.outbox.evicted`) go through the pipeline like any event. */
  ingest: (e: DeviceEvent) => unknown;
  /** The gateway's one command path (as used by local rules and operators). */
  execute: Execute;
  /** Family of a configured device (for the command allow-list). */
  familyOf: (deviceId: string) => string | undefined;
  /** Inventory for the retained birth message. */
  birthDevices: () => Birth['devices'];
  metrics: Metrics;
  log: Logger;
  /** Tests: observe publishes and acknowledgements. */
  trace?: (what: 'publish' | 'ack', row: OutboxRow, historical: boolean) => void;
  random?: () => number;
}

/** `<root>/birth`: retained inventory and capabilities (contract v1, city broker). */
export const birthTopic = (root: string) => `${root}/birth`;

export class Uplink {
  readonly outbox: Outbox;
  readonly commands?: PlatformCommands;
  private client?: MqttClient;
  private gen = 0;
  private link: LinkState = 'stopped';
  private commandsSubscribed = false;
  private protocol: 4 | 5;
  private failures = 0;
  private timer?: NodeJS.Timeout;
  private statsTimer?: NodeJS.Timeout;
  private readonly inflight = new Map<number, OutboxRow>();
  private cursors = [0, 0, 0];
  /** Per lane: rows may exist after the cursor (set by new rows, cleared by a short read). */
  private maybeMore = [true, true, true];
  private watermark = 0;
  private window: number;
  private acked: OutboxRow[] = [];
  private ackScheduled = false;
  private ackTimer?: NodeJS.Timeout;
  private pumpScheduled = false;
  private closing = false;
  private session: number;
  private ackedTotal = 0;
  private readonly drainSamples: { t: number; n: number }[] = [];
  private evictedToReport = 0;
  private lastEvictionAlarm = 0;
  private evictionTimer?: NodeJS.Timeout;
  private lastFailure?: ConnectFailure;

  constructor(private readonly o: UplinkOptions) {
    const c = o.config;
    this.protocol = c.protocol === '3.1.1' ? 4 : 5;
    this.window = c.outbox.inflightWindow;
    this.outbox = new Outbox(o.db, {
      root: o.root,
      maxBytes: c.outbox.maxSizeMB * 1024 * 1024,
      onEvicted: (n) => this.onEvicted(n),
    });
    this.session = Number(this.outbox.state().session ?? 0);
    if (c.commands.enabled) {
      this.commands = new PlatformCommands({
        db: o.db,
        config: c.commands,
        root: o.root,
        execute: o.execute,
        familyOf: o.familyOf,
        respond: (topic, payload, correlationData) =>
          this.publishDirect(topic, payload, { qos: 1, correlationData }),
        log: o.log.child({ part: 'platform-commands' }),
        onResult: (r: CommandResult) => o.metrics.uplinkCommands.inc({ result: r }),
      });
    }
  }

  /** Journal transaction hook: register with `journal.addTxHook(uplink.txHook)`. */
  readonly txHook = (rows: Parameters<Outbox['txHook']>[0]): void => {
    this.outbox.txHook(rows);
    for (const { env } of rows) this.maybeMore[laneOf(env.kind)] = true;
    this.schedulePump();
  };

  get state(): LinkState {
    return this.link;
  }

  /** True once the city broker granted the command subscription on the current connection. */
  get commandsReady(): boolean {
    return this.commandsSubscribed;
  }

  get connectedProtocol(): '5' | '3.1.1' {
    return this.protocol === 5 ? '5' : '3.1.1';
  }

  start(): void {
    this.closing = false;
    this.statsTimer = setInterval(() => this.updateStats(), 1000);
    this.statsTimer.unref();
    this.updateStats();
    this.connect();
  }

  stats(): {
    link: LinkState;
    inflight: number;
    window: number;
    drainRate: number;
    lanes: LaneStats[];
    lastFailure?: ConnectFailure;
  } {
    return {
      link: this.link,
      inflight: this.inflight.size,
      window: this.window,
      drainRate: this.drainRate(),
      lanes: this.outbox.stats(),
      lastFailure: this.lastFailure,
    };
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    clearTimeout(this.timer);
    clearTimeout(this.evictionTimer);
    clearInterval(this.statsTimer);
    const client = this.client;
    const wasConnected = this.link === 'connected';
    if (client && wasConnected) {
      // Graceful: retained offline status, then DISCONNECT (the broker then drops the Last Will).
      await this.publishDirect(
        topics.status(this.o.root),
        JSON.stringify(this.status('offline')),
        { qos: 1, retain: true },
        2000,
      ).catch((err) => this.o.log.warn({ err: errorMessage(err) }, 'offline status not published'));
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
    this.gen += 1;
    this.client = undefined;
    this.flushAcks();
    this.inflight.clear();
    this.setLink('stopped');
  }

  // --- connection -------------------------------------------------------------------------

  private connect(): void {
    if (this.closing) return;
    const gen = ++this.gen;
    this.setLink('connecting');
    let opts: IClientOptions;
    try {
      opts = this.clientOptions();
    } catch (err) {
      this.onClosed(gen, undefined, false, classifyConnectError(err, this.protocol));
      return;
    }
    let client: MqttClient;
    try {
      client = connect(this.o.config.url, opts);
    } catch (err) {
      this.onClosed(gen, undefined, false, classifyConnectError(err, this.protocol));
      return;
    }
    this.client = client;
    let connacked = false;
    let failure: ConnectFailure | undefined;
    client.on('connect', (connack) => {
      if (gen !== this.gen) return;
      connacked = true;
      // No Nagle: a PUBLISH is small and the window waits for its PUBACK (delayed-ACK stalls otherwise).
      (client.stream as { setNoDelay?: (on: boolean) => void } | undefined)?.setNoDelay?.(true);
      this.onConnected(gen, client, connack.properties?.receiveMaximum);
    });
    client.on('error', (err) => {
      if (gen === this.gen) failure ??= classifyConnectError(err, this.protocol);
    });
    client.on('close', () => {
      if (gen === this.gen) this.onClosed(gen, client, connacked, failure);
    });
    client.on('message', (topic, payload, packet) => {
      if (gen !== this.gen || !this.commands) return;
      const p = packet.properties;
      void this.commands.handle(topic, payload, {
        userProperties: p?.userProperties,
        responseTopic: p?.responseTopic,
        correlationData: p?.correlationData,
      });
    });
  }

  private clientOptions(): IClientOptions {
    const c = this.o.config;
    const password = c.passwordFile ? readFileSync(c.passwordFile, 'utf8').replace(/\r?\n$/, '') : c.password;
    const tls = c.tls;
    return {
      protocolVersion: this.protocol,
      clientId: c.clientId ?? `${this.o.site}-${this.o.gateway}`,
      username: c.username,
      password,
      clean: true,
      keepalive: c.keepaliveS,
      connectTimeout: c.connectTimeoutMs,
      reconnectPeriod: 0, // our own backoff with jitter (MQTT.js retries at a fixed period)
      queueQoSZero: false, // the outbox is the only queue
      resubscribe: false,
      will: {
        topic: topics.status(this.o.root),
        payload: Buffer.from(JSON.stringify(this.status('offline', this.session + 1))),
        qos: 1,
        retain: true,
      },
      ...(this.protocol === 5 ? { properties: { sessionExpiryInterval: 0 } } : {}),
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

  private onConnected(gen: number, client: MqttClient, receiveMaximum: number | undefined): void {
    const c = this.o.config;
    this.failures = 0;
    this.lastFailure = undefined;
    this.session += 1;
    this.window = Math.max(1, Math.min(c.outbox.inflightWindow, receiveMaximum ?? 65535));
    // Everything not acknowledged so far is pending again, oldest first; it is all "historical".
    this.flushAcks();
    this.inflight.clear();
    this.cursors = [0, 0, 0];
    this.maybeMore = [true, true, true];
    this.watermark = this.outbox.lastId();
    this.setLink('connected', { session: this.session });
    const backlog = this.outbox.totalPending();
    this.o.log.info(
      {
        url: this.safeUrl,
        protocol: this.connectedProtocol,
        session: this.session,
        window: this.window,
        backlog,
      },
      'uplink connected to the city broker',
    );
    const root = this.o.root;
    const pubErr = (what: string) => (err?: Error) => {
      if (err) this.o.log.warn({ err: errorMessage(err) }, `${what} not published`);
    };
    client.publish(
      topics.status(root),
      JSON.stringify(this.status('online')),
      { qos: 1, retain: true },
      pubErr('status'),
    );
    client.publish(birthTopic(root), JSON.stringify(this.birth()), { qos: 1, retain: true }, pubErr('birth'));
    if (this.commands) {
      client.subscribe(this.commands.filter, { qos: 1 }, (err, granted) => {
        if (gen !== this.gen) return;
        const refused = granted?.some((g) => g.qos === 128);
        this.commandsSubscribed = !err && !refused;
        if (err || refused)
          this.o.log.error(
            { err: err ? errorMessage(err) : 'SUBACK refused', filter: this.commands?.filter },
            'cannot subscribe to platform commands (check the city broker ACL)',
          );
      });
    }
    this.pump();
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
    if (gen === this.gen) this.client = undefined;
    this.commandsSubscribed = false;
    this.flushAcks();
    this.inflight.clear();
    if (this.closing) return;
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
    this.lastFailure = f;
    this.o.metrics.uplinkConnectFailures.inc({ reason: f.reason });
    let fallback = false;
    if (c.protocol === 'auto' && !connacked && (f.reason === 'protocol' || silent)) {
      // MQTT 5 refused (or no answer to it): try 3.1.1 next (and 5 again if 3.1.1 fails the same way).
      this.protocol = this.protocol === 5 ? 4 : 5;
      fallback = true;
    }
    if (connacked) this.failures = 0;
    this.failures += 1;
    const rnd = this.o.random ?? Math.random;
    const delay =
      f.reason === 'auth'
        ? Math.round(c.backoff.authFailureMs * (0.8 + 0.4 * rnd()))
        : fallback && f.reason === 'protocol' && this.protocol === 4
          ? Math.min(c.backoff.initialMs, 1000) // an explicit "not MQTT 5": retry 3.1.1 at once
          : backoffDelay(this.failures, c.backoff.initialMs, c.backoff.maxMs, rnd);
    const fields = {
      code: f.code,
      err: f.detail,
      hint: f.hint,
      attempt: this.failures,
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
    this.setLink('backoff', { last_error: `${f.code}: ${f.detail}` });
    this.timer = setTimeout(() => this.connect(), delay);
  }

  /** The broker URL without user info (never log a password given in the URL). */
  private get safeUrl(): string {
    return this.o.config.url.replace(/\/\/[^@/]*@/, '//');
  }

  private setLink(state: LinkState, extra: Record<string, string | number> = {}): void {
    const changed = state !== this.link;
    this.link = state;
    this.o.metrics.uplinkLinkUp.set(state === 'connected' ? 1 : 0);
    if (!changed && !Object.keys(extra).length) return;
    try {
      this.outbox.saveState({ link_state: state, link_since: new Date().toISOString(), ...extra });
    } catch (err) {
      this.o.log.warn({ err: errorMessage(err) }, 'uplink state not saved');
    }
  }

  private status(status: 'online' | 'offline', session = this.session): GatewayStatus {
    return { status, version: this.o.version, since: new Date().toISOString(), session };
  }

  private birth(): Birth {
    return {
      v: 1,
      site: this.o.site,
      gateway: this.o.gateway,
      version: this.o.version,
      session: this.session,
      at: new Date().toISOString(),
      devices: this.o.birthDevices(),
    };
  }

  /** Publishes outside the outbox (status, birth, command responses): only while connected. */
  private publishDirect(
    topic: string,
    payload: string,
    o: { qos: 0 | 1; retain?: boolean; correlationData?: Buffer },
    timeoutMs = 10_000,
  ): Promise<void> {
    const client = this.client;
    if (!client || this.link !== 'connected')
      return Promise.reject(new Error('the city broker is not connected'));
    const opts: IClientPublishOptions = { qos: o.qos, retain: o.retain ?? false };
    if (this.protocol === 5 && o.correlationData) opts.properties = { correlationData: o.correlationData };
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no PUBACK in time')), timeoutMs);
      client.publish(topic, payload, opts, (err) => {
        clearTimeout(t);
        if (err) reject(err);
        else resolve();
      });
    });
  }

  // --- outbox drain ---------------------------------------------------------------------

  private schedulePump(): void {
    if (this.pumpScheduled || this.link !== 'connected') return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  /** Fills the in-flight window: alarms lane first, then events, then telemetry; FIFO in each. */
  private pump(): void {
    const client = this.client;
    if (!client || this.link !== 'connected' || this.closing) return;
    const gen = this.gen;
    try {
      while (this.inflight.size < this.window) {
        const room = this.window - this.inflight.size;
        let rows: OutboxRow[] = [];
        for (let lane = 0; lane < LANES.length && !rows.length; lane++) {
          if (!this.maybeMore[lane]) continue;
          rows = this.outbox.fetch(lane, this.cursors[lane]!, room);
          if (rows.length < room) this.maybeMore[lane] = false;
        }
        if (!rows.length) break;
        for (const row of rows) this.publishRow(client, gen, row);
      }
    } catch (err) {
      this.o.log.error({ err: errorMessage(err) }, 'outbox read failed; retrying');
      setTimeout(() => this.schedulePump(), 1000).unref();
    }
    this.o.metrics.uplinkInflight.set(this.inflight.size);
  }

  private publishRow(client: MqttClient, gen: number, row: OutboxRow): void {
    this.cursors[row.lane] = row.id;
    const historical = row.id <= this.watermark;
    // The stored envelope JSON always ends with `}`: append the flag without re-serialising.
    const payload = historical ? `${row.payload.slice(0, -1)},"historical":true}` : row.payload;
    const opts: IClientPublishOptions = { qos: 1, retain: row.retain };
    if (this.protocol === 5) {
      const userProperties: Record<string, string> = { id: row.eventId, seq: String(row.seq) };
      if (historical) userProperties.historical = 'true';
      const expiry = this.o.config.outbox.telemetryExpiryS;
      opts.properties = {
        userProperties,
        ...(row.lane === TELEMETRY && expiry ? { messageExpiryInterval: expiry } : {}),
      };
    }
    this.inflight.set(row.id, row);
    this.o.trace?.('publish', row, historical);
    client.publish(row.topic, payload, opts, (err) => this.onPuback(gen, row, historical, err));
  }

  private onPuback(gen: number, row: OutboxRow, historical: boolean, err: Error | undefined): void {
    if (gen !== this.gen || !this.inflight.delete(row.id)) return; // a closed connection: the row is pending again
    if (err) {
      if (err instanceof ErrorWithReasonCode) {
        // MQTT 5 PUBACK with an error reason: the broker did not take it. Keep the row; it is
        // retried on the next connection (never dropped).
        this.o.metrics.uplinkPublishRejected.inc();
        this.o.log.error(
          {
            code: 'UPLINK_PUBLISH_REJECTED',
            reasonCode: err.code,
            err: err.message,
            topic: row.topic,
            id: row.eventId,
          },
          'city broker refused a message; kept for the next connection',
        );
      } else if (this.link === 'connected') {
        this.o.log.warn(
          { code: 'UPLINK_PUBLISH_FAILED', err: err.message, topic: row.topic, id: row.eventId },
          'publish failed; kept for the next connection',
        );
      }
      return;
    }
    this.o.trace?.('ack', row, historical);
    this.acked.push(row);
    // Deletes are group-committed (one transaction per ACK_BATCH rows or ACK_DELAY_MS): with
    // synchronous FULL each commit is an fsync. A crash before the commit only re-sends (same ids).
    if (this.acked.length >= ACK_BATCH) this.flushAcks();
    else if (!this.ackScheduled) {
      this.ackScheduled = true;
      this.ackTimer = setTimeout(() => this.flushAcks(), ACK_DELAY_MS);
    }
    this.schedulePump();
  }

  private flushAcks(): void {
    this.ackScheduled = false;
    clearTimeout(this.ackTimer);
    if (!this.acked.length) return;
    const rows = this.acked;
    this.acked = [];
    try {
      this.outbox.ack(rows);
    } catch (err) {
      // The rows stay in the outbox and are published again later (same ids: the platform dedupes).
      this.o.log.error({ err: errorMessage(err), rows: rows.length }, 'outbox delete failed');
      return;
    }
    const perLane = [0, 0, 0];
    for (const r of rows) perLane[r.lane]! += 1;
    perLane.forEach((n, lane) => {
      if (n) this.o.metrics.uplinkAcked.inc({ lane: LANES[lane] }, n);
    });
    this.ackedTotal += rows.length;
  }

  // --- eviction alarm and stats ---------------------------------------------------------

  private onEvicted(count: number): void {
    this.o.metrics.uplinkEvicted.inc(count);
    this.evictedToReport += count;
    if (this.evictionTimer) return;
    const wait = Math.max(
      0,
      this.lastEvictionAlarm + this.o.config.outbox.evictionAlarmIntervalMs - Date.now(),
    );
    this.evictionTimer = setTimeout(() => this.raiseEvictionAlarm(), wait);
    this.evictionTimer.unref();
  }

  private raiseEvictionAlarm(): void {
    this.evictionTimer = undefined;
    const n = this.evictedToReport;
    this.evictedToReport = 0;
    if (!n || this.closing) return;
    this.lastEvictionAlarm = Date.now();
    const telemetry = this.outbox.stats()[TELEMETRY];
    this.o.log.error(
      { code: 'UPLINK_OUTBOX_EVICTED', evicted: n, evictedTotal: telemetry?.evicted },
      'outbox disk budget reached: oldest telemetry evicted',
    );
    this.o.ingest({
      deviceId: this.o.gateway,
      type: 'gateway.outbox.evicted',
      kind: 'alarm',
      severity: 'major',
      data: {
        evicted: n,
        evictedTotal: telemetry?.evicted ?? n,
        lane: 'telemetry',
        budgetMB: this.o.config.outbox.maxSizeMB,
      },
    });
  }

  private drainRate(): number {
    const s = this.drainSamples;
    if (s.length < 2) return 0;
    const a = s[0]!;
    const b = s[s.length - 1]!;
    return b.t > a.t ? ((b.n - a.n) * 1000) / (b.t - a.t) : 0;
  }

  private updateStats(): void {
    const now = Date.now();
    this.drainSamples.push({ t: now, n: this.ackedTotal });
    while (this.drainSamples.length > 11) this.drainSamples.shift();
    const m = this.o.metrics;
    m.uplinkDrainRate.set(Math.round(this.drainRate()));
    m.uplinkInflight.set(this.inflight.size);
    try {
      let bytes = 0;
      for (const l of this.outbox.stats()) {
        m.uplinkBacklog.set({ lane: l.lane }, l.pending);
        m.uplinkOldestPendingSeconds.set(
          { lane: l.lane },
          l.oldestCreatedAt === null ? 0 : (now - l.oldestCreatedAt) / 1000,
        );
        bytes += l.bytes;
      }
      m.uplinkBacklogBytes.set(bytes);
    } catch (err) {
      this.o.log.warn({ err: errorMessage(err) }, 'outbox stats failed');
    }
  }
}
