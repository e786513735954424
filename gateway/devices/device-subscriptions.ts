/**
 * Device messages from brokers, delivered to the drivers that subscribed:
 * - local: publishes of the embedded broker's accounts, handed over by its `onDevicePublish`
 *   hook and awaited before the broker acknowledges (QoS 1 PUBACK, MQTT 3.1.1 §4.3.2);
 * - external: one MQTT client per driver instance with an `mqtt:` config (e.g. a LoRaWAN network
 *   server's broker), a persistent session so messages published while the gateway was away wait
 *   there, acknowledged only after the handler ran.
 */
import { readFile } from 'node:fs/promises';
import { connect, type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import { isValidFilter, topicMatches } from '../broker/acl.js';
import type { Logger } from '../core/logger.js';
import type { DeviceMessage, DriverContext } from './driver-api.js';
import type { RefusedFn } from './refusals.js';

export interface ExternalBroker {
  url: string;
  username?: string;
  /** File holding the password (first line). */
  passwordFile?: string;
  clientId?: string;
}

type Handler = (msg: DeviceMessage) => void | Promise<void>;

interface LocalSub {
  driver: string;
  filter: string;
  handler: Handler;
  refused: RefusedFn;
}

export interface DriverSubscriptions {
  subscribe: DriverContext['subscribe'];
  /** Connects to the external broker (if the driver subscribed there) and subscribes; rejects when it cannot. */
  start(): Promise<void>;
  /** Removes the driver's local subscriptions and ends its external client. */
  close(): Promise<void>;
}

export interface DeviceSubscriptionsOptions {
  log: Logger;
  /** External client: delay between reconnects (default 2 s) and the wait for the first connection (default 15 s). */
  reconnectPeriodMs?: number;
  connectTimeoutMs?: number;
}

export class DeviceSubscriptions {
  private readonly local: LocalSub[] = [];
  private readonly log: Logger;

  constructor(private readonly o: DeviceSubscriptionsOptions) {
    this.log = o.log;
  }

  /** Local subscriptions, for the host's status and tests. */
  get localCount(): number {
    return this.local.length;
  }

  readonly onDevicePublish = async (
    client: { id: string; username?: string },
    topic: string,
    payload: Buffer,
    _qos: number,
  ): Promise<void> => {
    // A copy: a driver closing meanwhile must not shift the list under the loop.
    for (const sub of [...this.local]) {
      if (!topicMatches(sub.filter, topic)) continue;
      await deliver(sub.handler, { topic, payload, username: client.username }, sub.refused, this.log, {
        driver: sub.driver,
        clientId: client.id,
      });
    }
  };

  forDriver(driver: string, external: ExternalBroker | undefined, refused: RefusedFn): DriverSubscriptions {
    const mine: LocalSub[] = [];
    const externalSubs: { filter: string; handler: Handler }[] = [];
    const log = this.log.child({ driver });
    let client: MqttClient | undefined;
    let closed = false;

    const subscribeExternal = (c: MqttClient, filters: string[]) =>
      c.subscribeAsync(filters, { qos: 1 }).then((granted) => {
        for (const g of granted)
          if (g.qos === 128) log.error({ filter: g.topic }, 'external broker refused the subscription');
      });

    const onMessage = (packet: IPublishPacket, done: (err?: Error) => void) => {
      const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
      const msg: DeviceMessage = { topic: packet.topic, payload };
      void (async () => {
        for (const sub of externalSubs)
          if (topicMatches(sub.filter, packet.topic)) await deliver(sub.handler, msg, refused, log, { driver });
        done();
      })();
    };

    return {
      subscribe: (filter, handler, opts) => {
        if (closed) throw new Error(`driver ${driver}: subscribe after its subscriptions were closed`);
        if (!isValidFilter(filter)) throw new Error(`driver ${driver}: invalid MQTT topic filter ${JSON.stringify(filter)}`);
        if (opts?.broker === 'external') {
          if (!external)
            throw new Error(`driver ${driver} has no mqtt: in its config; add mqtt: {url} to subscribe to an external broker`);
          externalSubs.push({ filter, handler });
          if (client?.connected)
            subscribeExternal(client, [filter]).catch((err: unknown) => log.error({ err, filter }, 'external subscribe failed'));
          return;
        }
        const sub = { driver, filter, handler, refused };
        mine.push(sub);
        this.local.push(sub);
      },

      start: async () => {
        if (!external || externalSubs.length === 0 || client || closed) return;
        const options: IClientOptions = {
          protocolVersion: 4,
          clientId: external.clientId ?? `cg-${driver}`,
          // A persistent session: the broker keeps what devices sent while the gateway was away.
          clean: false,
          // The 'connect' listener subscribes on every connection, so the library need not.
          resubscribe: false,
          reconnectPeriod: this.o.reconnectPeriodMs ?? 2000,
          connectTimeout: this.o.connectTimeoutMs ?? 15_000,
          ...(external.username !== undefined ? { username: external.username } : {}),
        };
        if (external.passwordFile) {
          const text = await readFile(external.passwordFile, 'utf8').catch((err: NodeJS.ErrnoException) => {
            throw new Error(`driver ${driver}: cannot read mqtt.passwordFile (${err.code ?? err.message})`);
          });
          options.password = text.split(/\r?\n/)[0] ?? '';
        }
        const c = connect(external.url, options);
        // Messages one at a time, in order; the PUBACK goes after the handlers ran.
        c.handleMessage = onMessage;
        client = c;
        // One warn line per outage, not one per reconnect attempt.
        let outage = false;
        const trouble = (fields: Record<string, unknown>, msg: string) => {
          if (outage) log.debug(fields, msg);
          else log.warn(fields, msg);
          outage = true;
        };
        c.on('connect', (connack) => {
          outage = false;
          log.info({ url: external.url, sessionPresent: connack.sessionPresent }, 'external broker connected');
          subscribeExternal(c, externalSubs.map((s) => s.filter)).catch((err: unknown) =>
            log.error({ err }, 'external subscribe failed'),
          );
        });
        c.on('offline', () => trouble({ url: external.url }, 'external broker offline; reconnecting'));
        c.on('error', (err) => trouble({ err: err.message, url: external.url }, 'external broker error'));
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => fail(new Error(`driver ${driver}: no connection to ${external.url}`)), options.connectTimeout);
          const fail = (err: Error) => {
            clearTimeout(timer);
            c.off('connect', ok);
            c.off('error', onErr);
            client = undefined;
            c.end(true);
            reject(err);
          };
          const ok = () => {
            clearTimeout(timer);
            c.off('error', onErr);
            resolve();
          };
          // A refused login will not get better by retrying: give up and let the host back off.
          const onErr = (err: Error & { code?: number | string }) => {
            if (err.code === 4 || err.code === 5) fail(new Error(`driver ${driver}: external broker refused the login (${err.message})`));
          };
          c.once('connect', ok);
          c.on('error', onErr);
        });
      },

      close: async () => {
        closed = true;
        for (const sub of mine.splice(0)) {
          const i = this.local.indexOf(sub);
          if (i >= 0) this.local.splice(i, 1);
        }
        const c = client;
        client = undefined;
        // Forced: what was not yet acknowledged stays in the broker's session and comes again.
        if (c) await c.endAsync(true);
      },
    };
  }
}

/** Runs one handler; its failure is logged and counted, and the message still acknowledged (a retry would fail the same way). */
async function deliver(
  handler: Handler,
  msg: DeviceMessage,
  refused: RefusedFn,
  log: Logger,
  fields: Record<string, unknown>,
): Promise<void> {
  try {
    await handler(msg);
  } catch (err) {
    log.error({ ...fields, err, topic: msg.topic }, 'device message handler failed');
    refused('handler-error', { topic: msg.topic });
  }
}
