/**
 * Test kit of the LoRaWAN families: the real embedded broker with a network-server account
 * (role device, publish `application/#`), `mosquitto_pub` as an independent publisher, ChirpStack
 * event bodies, and a clock that moves only when told to.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { hashPassword } from '../../../gateway/auth/password.js';
import { type RunningBroker, startBroker, type StartBrokerOptions } from '../../../gateway/broker/broker.js';
import { createLogger } from '../../../gateway/core/logger.js';
import { topicOf, upEvent } from '../../../simulators/lorawan/chirpstack-json.js';
import { ManualClock } from '../../../gateway/devices/testing/manual-clock.js';

const run = promisify(execFile);

export const APP = '3a5e8f9c-0b7d-4e21-9c4f-1d2e3f4a5b6c';

export interface NsBroker {
  url: string;
  port: number;
  broker: RunningBroker;
  close(): Promise<void>;
}

/** The embedded broker on 127.0.0.1 with network-server accounts (name -> password) allowed to publish `application/#`. */
export async function startNsBroker(
  accounts: Record<string, string>,
  onDevicePublish: NonNullable<StartBrokerOptions['onDevicePublish']>,
): Promise<NsBroker> {
  const broker = await startBroker(
    {
      listeners: [{ type: 'tcp', host: '127.0.0.1', port: 0 }],
      accounts: Object.entries(accounts).map(([username, password]) => ({
        username,
        role: 'device' as const,
        publish: ['application/#'],
        passwordHash: hashPassword(password),
      })),
    },
    { demo: false, log: createLogger(process.env.LOG_LEVEL ?? 'silent'), onDevicePublish },
  );
  const port = broker.listeners.find((l) => l.type === 'tcp')!.port;
  return { url: `mqtt://127.0.0.1:${port}`, port, broker, close: () => broker.close() };
}

/** Publishes one message with mosquitto_pub at QoS 1 (it returns once the broker acknowledged). */
export async function mosquittoPub(o: {
  port: number;
  username: string;
  password: string;
  topic: string;
  message: string | Record<string, unknown>;
}): Promise<void> {
  const message = typeof o.message === 'string' ? o.message : JSON.stringify(o.message);
  await run('mosquitto_pub', [
    ...['-h', '127.0.0.1', '-p', String(o.port), '-u', o.username, '-P', o.password],
    ...['-i', `${o.username}:pub-${process.pid}-${Math.floor(Math.random() * 1e9)}`, '-q', '1', '-V', 'mqttv311'],
    ...['-t', o.topic, '-m', message],
  ]);
}

/** The topic and body of an `up` event of this device. */
export function uplink(
  devEui: string,
  f: { fCnt: number; fPort: number; hex: string; rssi?: number; gatewayId?: string; time?: Date },
): { topic: string; body: Record<string, unknown> } {
  const identity = { devEui, name: devEui, applicationId: APP, profile: 'test' };
  return {
    topic: topicOf(identity, 'up'),
    body: upEvent(identity, {
      fCnt: f.fCnt,
      fPort: f.fPort,
      data: Buffer.from(f.hex, 'hex'),
      time: f.time ?? new Date('2026-03-01T08:00:00Z'),
      radios: [{ gatewayId: f.gatewayId ?? '0016c001ff10a235', rssi: f.rssi ?? -90, snr: 7.25 }],
    }),
  };
}

/** Time moves only when the test says; timers fire in due order. */
export class StepClock extends ManualClock {
  constructor() {
    super(1_800_000_000_000);
  }
}
