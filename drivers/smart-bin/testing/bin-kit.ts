/** Test kit of the smart-bin family: the real host and embedded broker, mosquitto_pub, the stored drops. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { DriverConfig, DriverStore } from '../../../gateway/devices/driver-api.js';
import { type DeviceBroker, startDeviceBroker } from '../../../gateway/devices/testing/device-broker.js';
import { type HostHarness, startHost } from '../../../gateway/devices/testing/host-harness.js';
import { waitFor } from '../../../gateway/testing/wait-for.js';
import { smartBin } from '../index.js';

export const ACCOUNTS = { 'room-a': 'room-a-pass-1', 'bin-b1': 'bin-b1-pass-1', stranger: 'stranger-pass' };
export type Account = keyof typeof ACCOUNTS;

export const binConfig = (): DriverConfig =>
  smartBin.configSchema.parse({
    id: 'bins',
    family: 'smart-bin',
    devices: [
      // Two stations of one bin room share the room controller's account.
      { id: 'bin-a-1', account: 'room-a', building: 'A', zone: 'bin-room' },
      { id: 'bin-a-2', account: 'room-a', building: 'A', zone: 'bin-room' },
      { id: 'bin-b1', building: 'B', zone: 'gate' },
    ],
  }) as DriverConfig;

/** The real host running one smart-bin instance (`bins`), fed by the real embedded broker. */
export async function bootBins(cleanup: (() => Promise<void>)[]): Promise<{ h: HostHarness; broker: DeviceBroker; port: number }> {
  const h = startHost({ families: [smartBin], drivers: [binConfig()] });
  cleanup.push(h.close);
  const broker = await startDeviceBroker({ devices: ACCOUNTS, onDevicePublish: h.host.onDevicePublish });
  cleanup.push(broker.close);
  await waitFor('driver running', () => h.host.status()[0]?.state === 'running');
  return { h, broker, port: Number(new URL(broker.url).port) };
}

/** An independent MQTT client: mosquitto_pub, QoS 1 (it exits after the PUBACK, i.e. after the driver ran). */
export async function pub(port: number, account: Account, topic: string, message: string): Promise<void> {
  await promisify(execFile)('mosquitto_pub', [
    ...['-h', '127.0.0.1', '-p', String(port), '-u', account, '-P', ACCOUNTS[account]],
    ...['-i', `${account}:pub-${process.pid}`, '-q', '1', '-V', 'mqttv311', '-t', topic, '-m', message],
  ]);
}

/** The `bins` instance's durable store as the gateway's database holds it (read only: entries). */
export function storeOf(h: HostHarness): DriverStore {
  const rows = () =>
    h.db.prepare<[], { key: string; value: string }>("SELECT key, value FROM driver_state WHERE driver = 'bins' ORDER BY key").all();
  const fail = () => {
    throw new Error('read-only test view of the store');
  };
  return {
    get: <T>(key: string) => rows().filter((r) => r.key === key).map((r) => JSON.parse(r.value) as T)[0],
    set: fail,
    delete: fail,
    entries: <T>(prefix = '') => rows().filter((r) => r.key.startsWith(prefix)).map((r): [string, T] => [r.key, JSON.parse(r.value) as T]),
  };
}
