/** Shared set-up of the uplink tests: temp dirs, a city broker with a recorder that survives its restarts. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './harness.js';
import {
  freePort,
  type Mosquitto,
  type MosquittoOptions,
  type Received,
  recorder,
  startMosquitto,
} from './mosquitto.js';

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `uplink-${prefix}-`));
}

export interface CityBroker {
  port: number;
  url: string;
  messages: Received[];
  /** Event messages only (topics under `<root>/events/`). */
  events(): Received[];
  up(): Promise<void>;
  down(signal?: NodeJS.Signals): Promise<void>;
  close(): Promise<void>;
}

/**
 * A mosquitto on a fixed port with a persistent-session recorder of `<root>/#`. The recorder
 * is subscribed before anything else connects, so it gets every message even when the broker
 * starts after the gateway (restarts keep its session: mosquitto persistence).
 */
export async function cityBroker(
  dir: string,
  o: Partial<MosquittoOptions> = {},
  startUp = true,
): Promise<CityBroker> {
  const port = await freePort();
  let m: Mosquitto | undefined = await startMosquitto({ ...o, dir, port });
  const rec = await recorder(m.url, `${ROOT}/#`, { clientId: 'city-recorder' });
  const api: CityBroker = {
    port,
    url: m.url,
    messages: rec.messages,
    events: () => rec.messages.filter((x) => x.topic.startsWith(`${ROOT}/events/`)),
    async up() {
      if (!m) m = await startMosquitto({ ...o, dir, port });
    },
    async down(signal = 'SIGTERM') {
      await m?.stop(signal);
      m = undefined;
    },
    async close() {
      await rec.close();
      await m?.stop('SIGKILL');
      m = undefined;
    },
  };
  if (!startUp) await api.down();
  return api;
}
