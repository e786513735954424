/**
 * Test harness for whole-compound scenarios: a site of real families on loopback (LoRaWAN
 * smoke detectors and an SOS button through the embedded broker, ISAPI access gates, a Modbus
 * DI/DO module with sirens), the compound simulator started from that same site file, and the
 * real gateway (`startGateway`) against it. The simulators are started first, as `gateway demo`
 * does; the LoRaWAN network server simulator connects once the gateway's broker is up.
 */
import { join } from 'node:path';
import { validateConfig } from '../../../config/load.js';
import type { SiteConfig } from '../../../config/schema.js';
import { type CompoundSimulator, startCompoundSimulator } from '../../../simulators/compound/compound-simulator.js';
import { hashPassword } from '../../auth/password.js';
import { freePort } from '../../core/free-port.js';
import { createLogger } from '../../core/logger.js';
import { type Gateway, startGateway } from '../../gateway.js';
import { waitFor } from '../../testing/wait-for.js';
import { tempDir } from './harness.js';

export const log = createLogger(process.env.TEST_LOG ?? 'silent');
export const CONSOLE_USER = 'duty1';
export const CONSOLE_PASSWORD = 'duty-pass';
/** The password the LoRaWAN compound simulator logs in with by default (the demo's network-server account). */
const NETWORK_SERVER_PASSWORD = 'chirpstack-demo';

const gate = async (id: string, place: { building: string; zone: string; tags?: string[] }) => ({
  id,
  ...place,
  url: `http://127.0.0.1:${await freePort()}`,
  api: { username: 'admin', password: 'gate-api-pass' },
  push: { username: id, password: `${id}-push-pass` },
});

/**
 * Building B3: two smoke detectors, an SOS button in its lobby, two gates and a siren in the
 * lobby. Elsewhere: the north gate (tagged `exit`), building B1's gate and B1's siren, which a
 * fire in B3 must leave alone (B1's gate is no exit, B1's siren not in the building).
 */
export async function scenarioSite(): Promise<SiteConfig> {
  const raw = {
    site: { id: 'scenario-site' },
    gateway: { id: 'gw-01' },
    log: { level: 'warn' },
    broker: {
      // A known port: the network server simulator publishes into it.
      listeners: [{ type: 'tcp', host: '127.0.0.1', port: await freePort() }],
      accounts: [
        { username: CONSOLE_USER, role: 'reader', passwordHash: hashPassword(CONSOLE_PASSWORD) },
        {
          username: 'chirpstack',
          role: 'device',
          publish: ['application/#'],
          passwordHash: hashPassword(NETWORK_SERVER_PASSWORD),
        },
      ],
    },
    journal: { path: join(tempDir('scenario-'), 'gw.db'), synchronous: 'NORMAL' },
    http: { host: '127.0.0.1', port: 0 },
    drivers: [
      {
        family: 'smoke-detector',
        id: 'lora-smoke',
        account: 'chirpstack',
        applicationId: '5b0d6a3e-1f7c-4c2a-9a51-0d6f3c2b7e11',
        devices: [
          { id: 'smoke-b3-hall', devEui: '70b3d57ed0003001', building: 'B3', zone: 'hall' },
          { id: 'smoke-b3-stairs', devEui: '70b3d57ed0003002', building: 'B3', zone: 'stairs' },
        ],
      },
      {
        family: 'alarm-button',
        id: 'lora-sos',
        account: 'chirpstack',
        applicationId: '8c3f1e52-7d4b-4b8e-a0c6-2e9d5f1a4c22',
        devices: [{ id: 'sos-b3-lobby', devEui: '70b3d57ed0003101', building: 'B3', zone: 'lobby' }],
      },
      {
        family: 'io-module',
        id: 'io-bus',
        transport: { type: 'tcp', host: '127.0.0.1', port: await freePort() },
        pollIntervalMs: 100,
        debounceMs: 0,
        modules: [{ id: 'io-1', unitId: 1 }],
        outputs: [
          { id: 'siren-b3-lobby', module: 'io-1', output: 1, role: 'siren', building: 'B3', zone: 'lobby', tags: ['siren'] },
          { id: 'siren-b1-lobby', module: 'io-1', output: 2, role: 'siren', building: 'B1', zone: 'lobby', tags: ['siren'] },
        ],
      },
      {
        family: 'access-gate',
        id: 'gates',
        listen: { host: '127.0.0.1', port: await freePort() },
        pollIntervalMs: 1000,
        devices: [
          await gate('gate-b3-east', { building: 'B3', zone: 'east-door' }),
          await gate('gate-b3-west', { building: 'B3', zone: 'west-door' }),
          await gate('gate-north', { building: 'gatehouse', zone: 'north-gate', tags: ['exit'] }),
          await gate('gate-b1', { building: 'B1', zone: 'entrance' }),
        ],
      },
    ],
  };
  const r = validateConfig(raw);
  if (!r.ok) throw new Error(`bad scenario site: ${JSON.stringify(r.problems)}`);
  return r.config;
}

export interface Scenario {
  config: SiteConfig;
  gw: Gateway;
  sim: CompoundSimulator;
  /** The control API of the compound simulator: GET a device's state, or POST a change. */
  control(deviceId: string, change?: unknown): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

/** Starts the compound simulator from the site, then the gateway; resolves when every device was heard. */
export async function startScenario(config: SiteConfig): Promise<Scenario> {
  const sim = await startCompoundSimulator(config, log, { controlPort: 0 });
  let gw: Gateway;
  try {
    gw = await startGateway(config, log);
  } catch (err) {
    await sim.close();
    throw err;
  }
  const control = async (deviceId: string, change?: unknown) => {
    const res = await fetch(`${sim.url}/devices/${deviceId}`, {
      method: change === undefined ? 'GET' : 'POST',
      ...(change === undefined ? {} : { body: JSON.stringify(change) }),
    });
    const body = (await res.json()) as Record<string, unknown>;
    if (res.status !== 200) throw new Error(`simulator ${deviceId}: ${res.status} ${JSON.stringify(body)}`);
    return body;
  };
  const close = async () => {
    await gw.close();
    await sim.close();
  };
  try {
    const ids = config.drivers.flatMap((d) => d.devices.map((dev) => dev.id));
    await waitFor(
      'every device online',
      () => {
        const online = new Set(
          gw.journal
            .query({ type: 'device.availability', limit: 1000 })
            .filter((e) => e.data.online === true)
            .map((e) => e.device.id),
        );
        return ids.every((id) => online.has(id));
      },
      { timeoutMs: 15_000 },
    );
  } catch (err) {
    await close();
    throw err;
  }
  return { config, gw, sim, control, close };
}

/** The mode of door 1 of a simulated gate, as the terminal itself reports it. */
export async function doorMode(s: Scenario, gateId: string): Promise<string> {
  const state = (await s.control(gateId)) as { doors: { door: number; mode: string }[] };
  return state.doors.find((d) => d.door === 1)!.mode;
}

/** Whether a simulated siren's coil is on, as the I/O module simulator holds it. */
export async function sirenOn(s: Scenario, sirenId: string): Promise<boolean> {
  return (await s.control(sirenId)).on === true;
}
