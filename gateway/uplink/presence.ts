/**
 * The gateway's presence on the city broker (contract v1): the retained status
 * (`<root>/status`, online on connect, offline on a graceful close, and offline as the Last Will
 * when the connection is lost), the retained birth message (`<root>/birth`: inventory and
 * capabilities), and the session counter both carry (one more per connection).
 */
import type { IClientOptions, MqttClient } from 'mqtt';
import type { Birth, GatewayStatus } from '../core/contract-payloads.js';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { topics } from '../core/topics.js';

/** `<root>/birth`: retained inventory and capabilities (contract v1, city broker). */
export const birthTopic = (root: string) => `${root}/birth`;

export interface PresenceOptions {
  site: string;
  gateway: string;
  root: string;
  version: string;
  /** Session of the last connection (persisted in the outbox state). */
  session: number;
  /** Inventory for the retained birth message. */
  birthDevices: () => Birth['devices'];
  log: Logger;
}

export class Presence {
  private current: number;

  constructor(private readonly o: PresenceOptions) {
    this.current = o.session;
  }

  get session(): number {
    return this.current;
  }

  /** A new connection is a new session. */
  nextSession(): number {
    this.current += 1;
    return this.current;
  }

  /** The Last Will: the offline status of the session the next connection will have. */
  will(): NonNullable<IClientOptions['will']> {
    return {
      topic: topics.status(this.o.root),
      payload: Buffer.from(JSON.stringify(this.status('offline', this.current + 1))),
      qos: 1,
      retain: true,
    };
  }

  /** On each connection: retained online status, then the retained birth message. */
  publishOnline(client: MqttClient): void {
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
  }

  /** Graceful close: the retained offline status (the broker then drops the Last Will). */
  offline(): { topic: string; payload: string } {
    return { topic: topics.status(this.o.root), payload: JSON.stringify(this.status('offline')) };
  }

  private status(status: 'online' | 'offline', session = this.current): GatewayStatus {
    return { status, version: this.o.version, since: new Date().toISOString(), session };
  }

  private birth(): Birth {
    return {
      v: 1,
      site: this.o.site,
      gateway: this.o.gateway,
      version: this.o.version,
      session: this.current,
      at: new Date().toISOString(),
      devices: this.o.birthDevices(),
    };
  }
}
