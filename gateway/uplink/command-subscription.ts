/**
 * Wiring of platform commands to the city broker connection: subscribes to the command filter
 * (QoS 1) on each connection, tracks whether the broker granted it (a granted QoS of 0x80 is a
 * refusal, MQTT 3.1.1 §3.9.3), and hands each incoming request with its MQTT 5 properties to the
 * command handler.
 */
import type { IPublishPacket, MqttClient } from 'mqtt';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { PlatformCommands } from './platform-commands.js';

export class CommandSubscription {
  private subscribed = false;

  constructor(
    private readonly commands: PlatformCommands,
    private readonly log: Logger,
  ) {}

  /** True once the city broker granted the subscription on the current connection. */
  get ready(): boolean {
    return this.subscribed;
  }

  /** `isCurrent` is false once the connection that subscribed is gone. */
  subscribe(client: MqttClient, isCurrent: () => boolean): void {
    client.subscribe(this.commands.filter, { qos: 1 }, (err, granted) => {
      if (!isCurrent()) return;
      const refused = granted?.some((g) => g.qos === 128);
      this.subscribed = !err && !refused;
      if (err || refused)
        this.log.error(
          { err: err ? errorMessage(err) : 'SUBACK refused', filter: this.commands.filter },
          'cannot subscribe to platform commands (check the city broker ACL)',
        );
    });
  }

  /** The connection is gone. */
  reset(): void {
    this.subscribed = false;
  }

  handle(topic: string, payload: Buffer, packet: IPublishPacket): void {
    const p = packet.properties;
    void this.commands.handle(topic, payload, {
      userProperties: p?.userProperties,
      responseTopic: p?.responseTopic,
      correlationData: p?.correlationData,
    });
  }
}
