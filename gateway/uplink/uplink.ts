/**
 * Store-and-forward uplink to the city platform: the composition of its parts. The outbox in
 * SQLite is the only queue (rows written in the journal's transactions, deleted only on
 * PUBACK); the connection paces its attempts with backoff and jitter; while connected the
 * drain publishes the outbox (alarms first, FIFO within a lane, at most `inflightWindow`
 * unacknowledged, `historical: true` for whatever was pending at the reconnect); on each
 * connection the retained status and birth are published and the platform command filter
 * subscribed.
 */
import type Database from 'better-sqlite3';
import type { MqttClient } from 'mqtt';
import type { Execute } from '../commands/commands.js';
import type { Birth } from '../core/contract-payloads.js';
import type { DeviceEvent } from '../core/envelope.js';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import { JournalBusy } from '../journal/light-writes.js';
import { CommandSubscription } from './command-subscription.js';
import type { ConnectFailure } from './connect-errors.js';
import { EvictionAlarm } from './eviction-alarm.js';
import { Link, type LinkState } from './link-state.js';
import { Outbox, type OutboxRow } from './outbox.js';
import { type LaneStats, LANES, TELEMETRY } from './outbox-tables.js';
import { OutboxDrain } from './outbox-drain.js';
import { type CommandResult, PlatformCommands } from './platform-commands.js';
import { Presence } from './presence.js';
import type { Redactor } from './privacy.js';
import type { UplinkConfig } from './uplink-config.js';
import { UplinkConnection } from './uplink-connection.js';
import { UplinkStats } from './uplink-stats.js';

export type { LinkState } from './link-state.js';
export { birthTopic } from './presence.js';

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
  /** Rewrites personal data of an event before it enters the outbox (the site's privacy setting). */
  redact?: Redactor;
  /** The journal: an outbox row is sent once its event survives power loss (`durableSeq`). */
  durable: { readonly durableSeq: number; onDurable(listener: () => void): void };
  metrics: Metrics;
  log: Logger;
  /** Tests: observe publishes and acknowledgements. */
  trace?: (what: 'publish' | 'ack', row: OutboxRow, historical: boolean) => void;
  random?: () => number;
}

export class Uplink {
  readonly outbox: Outbox;
  readonly commands?: PlatformCommands;
  private readonly link: Link;
  private readonly presence: Presence;
  private readonly connection: UplinkConnection;
  private readonly drain: OutboxDrain;
  private readonly subscription?: CommandSubscription;
  private readonly eviction: EvictionAlarm;
  private readonly gauges: UplinkStats;

  constructor(private readonly o: UplinkOptions) {
    const c = o.config;
    this.eviction = new EvictionAlarm({
      gateway: o.gateway,
      config: c.outbox,
      evictedTotal: () => this.outbox.stats()[TELEMETRY]?.evicted,
      ingest: o.ingest,
      isClosing: () => this.connection.closing,
      metrics: o.metrics,
      log: o.log,
    });
    this.outbox = new Outbox(o.db, {
      root: o.root,
      maxBytes: c.outbox.maxSizeMB * 1024 * 1024,
      onEvicted: (n) => this.eviction.onEvicted(n),
      redact: o.redact,
      durableSeq: () => o.durable.durableSeq,
    });
    this.link = new Link(this.outbox, o.metrics, o.log);
    this.presence = new Presence({
      site: o.site,
      gateway: o.gateway,
      root: o.root,
      version: o.version,
      session: Number(this.outbox.state().session ?? 0),
      birthDevices: o.birthDevices,
      log: o.log,
    });
    this.connection = new UplinkConnection({
      config: c,
      site: o.site,
      gateway: o.gateway,
      link: this.link,
      will: () => this.presence.will(),
      hooks: {
        onConnected: (gen, client, receiveMaximum) => this.onConnected(gen, client, receiveMaximum),
        onDown: () => this.onDown(),
        onMessage: (topic, payload, packet) => this.subscription?.handle(topic, payload, packet),
      },
      metrics: o.metrics,
      log: o.log,
      random: o.random,
    });
    this.drain = new OutboxDrain({
      outbox: this.outbox,
      connection: this.connection,
      config: c.outbox,
      metrics: o.metrics,
      log: o.log,
      trace: o.trace,
    });
    // Rows are fetched once their events are durable; new rows may have passed the budget.
    o.durable.onDurable(() => {
      for (let lane = 0; lane < LANES.length; lane++) this.drain.rowsAdded(lane);
      this.drain.schedulePump();
      this.evictIfOverBudget();
    });
    this.gauges = new UplinkStats({
      outbox: this.outbox,
      ackedTotal: () => this.drain.ackedTotal,
      inflight: () => this.drain.inflight,
      metrics: o.metrics,
      log: o.log,
    });
    if (c.commands.enabled) {
      this.commands = new PlatformCommands({
        db: o.db,
        config: c.commands,
        root: o.root,
        execute: o.execute,
        familyOf: o.familyOf,
        respond: (topic, payload, correlationData) =>
          this.connection.publish(topic, payload, { qos: 1, correlationData }),
        log: o.log.child({ part: 'platform-commands' }),
        onResult: (r: CommandResult) => o.metrics.uplinkCommands.inc({ result: r }),
      });
      this.subscription = new CommandSubscription(this.commands, o.log);
    }
  }

  /** Journal transaction hook: register with `journal.addTxHook(uplink.txHook)`. */
  readonly txHook: Outbox['txHook'] = (rows, tx) => this.outbox.txHook(rows, tx);

  /** After a commit: the event loop does not wait for the journal's writers (the next commit tries again). */
  private evictIfOverBudget(): void {
    try {
      this.outbox.evictIfOverBudget({ waitForLock: false });
    } catch (err) {
      if (!(err instanceof JournalBusy)) this.o.log.error({ err: errorMessage(err) }, 'outbox eviction failed');
    }
  }

  get state(): LinkState {
    return this.link.state;
  }

  /** True once the city broker granted the command subscription on the current connection. */
  get commandsReady(): boolean {
    return this.subscription?.ready ?? false;
  }

  get connectedProtocol(): '5' | '3.1.1' {
    return this.connection.connectedProtocol;
  }

  start(): void {
    this.gauges.start();
    this.connection.start();
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
      link: this.link.state,
      inflight: this.drain.inflight,
      window: this.drain.window,
      drainRate: this.gauges.drainRate(),
      lanes: this.outbox.stats(),
      lastFailure: this.connection.lastFailure,
    };
  }

  async close(): Promise<void> {
    if (this.connection.closing) return;
    this.eviction.stop();
    this.gauges.stop();
    // Graceful: retained offline status, then DISCONNECT (the broker then drops the Last Will).
    await this.connection.close(() => {
      const { topic, payload } = this.presence.offline();
      return this.connection
        .publish(topic, payload, { qos: 1, retain: true }, 2000)
        .catch((err) => this.o.log.warn({ err: errorMessage(err) }, 'offline status not published'));
    });
    this.drain.stop();
    this.link.set('stopped');
  }

  private onConnected(gen: number, client: MqttClient, receiveMaximum: number | undefined): void {
    const session = this.presence.nextSession();
    this.drain.restart(receiveMaximum);
    this.link.set('connected', { session });
    const backlog = this.outbox.totalPending();
    this.o.log.info(
      {
        url: this.connection.safeUrl,
        protocol: this.connectedProtocol,
        session,
        window: this.drain.window,
        backlog,
      },
      'uplink connected to the city broker',
    );
    this.presence.publishOnline(client);
    this.subscription?.subscribe(client, () => gen === this.connection.gen);
    this.drain.pump();
  }

  private onDown(): void {
    this.subscription?.reset();
    this.drain.stop();
  }
}
