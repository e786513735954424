/**
 * Test helper: the real embedded broker on 127.0.0.1 (port 0) with `device` accounts, its
 * device publishes handed to `onDevicePublish` (a DriverHost's or a DeviceSubscriptions'),
 * and an MQTT client logged in as one of those devices.
 */
import { randomUUID } from 'node:crypto';
import { connectAsync, type MqttClient } from 'mqtt';
import { hashPassword } from '../../auth/password.js';
import { type RunningBroker, startBroker, type StartBrokerOptions } from '../../broker/broker.js';
import { createLogger, type Logger } from '../../core/logger.js';

export interface DeviceBroker {
  url: string;
  broker: RunningBroker;
  /** Logs in as device account `username` (client id `<username>:<random>`, MQTT 3.1.1). */
  device(username: string): Promise<MqttClient>;
  close(): Promise<void>;
}

export async function startDeviceBroker(o: {
  /** device user name -> password */
  devices: Record<string, string>;
  onDevicePublish: NonNullable<StartBrokerOptions['onDevicePublish']>;
  log?: Logger;
}): Promise<DeviceBroker> {
  const broker = await startBroker(
    {
      listeners: [{ type: 'tcp', host: '127.0.0.1', port: 0 }],
      accounts: Object.entries(o.devices).map(([username, password]) => ({
        username,
        role: 'device' as const,
        passwordHash: hashPassword(password),
      })),
    },
    { demo: false, log: o.log ?? createLogger(process.env.LOG_LEVEL ?? 'silent'), onDevicePublish: o.onDevicePublish },
  );
  const port = broker.listeners.find((l) => l.type === 'tcp')!.port;
  const url = `mqtt://127.0.0.1:${port}`;
  const clients: MqttClient[] = [];
  return {
    url,
    broker,
    async device(username) {
      const c = await connectAsync(url, {
        protocolVersion: 4,
        clientId: `${username}:${randomUUID().slice(0, 8)}`,
        username,
        password: o.devices[username] ?? '',
        reconnectPeriod: 0,
      });
      clients.push(c);
      return c;
    },
    async close() {
      await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
      await broker.close();
    },
  };
}
