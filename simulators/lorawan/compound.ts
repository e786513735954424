/**
 * The LoRaWAN part of the compound simulator: for a smoke-detector or alarm-button instance,
 * one simulated network server publishing its devices' uplinks.
 *
 * Where it publishes: with `mqtt:` in the driver entry, to that broker when it is on loopback
 * (a network server elsewhere drives real devices: not simulated), logging in as `mqtt.username`
 * with the password of `mqtt.passwordFile`; without it, to the embedded broker (the site's first
 * TCP listener, else `LORAWAN_SIM_URL`, else mqtt://127.0.0.1:1883) as the driver's `account` (default
 * `chirpstack`) with the password `LORAWAN_SIM_PASSWORD` (default `chirpstack-demo`, the demo
 * account's). Devices of a model the simulator does not speak are left out.
 */
import { readFileSync } from 'node:fs';
import type { Logger } from '../../gateway/core/logger.js';
import type { DriverConfig, FamilySimulator, SimulatedDevice, SimulatorSite } from '../../gateway/devices/driver-api.js';
import { LorawanSimulator, type SimDeviceConfig } from './lorawan-simulator.js';

const LOOPBACK = /^(mqtts?|wss?):\/\/(127\.0\.0\.1|localhost|\[::1\])(:|\/|$)/;
const DEMO_APPLICATION = '3a5e8f9c-0b7d-4e21-9c4f-1d2e3f4a5b6c';

interface LorawanEntry {
  id: string;
  mqtt?: { url: string; username?: string; passwordFile?: string };
  account?: string;
  applicationId: string;
  devices: { id: string; devEui: string; model: string; heartbeatIntervalS?: number }[];
}

const KINDS = {
  'smoke-detector': { kind: 'smoke', model: 'generic-smoke', hint: 'e.g. {"alarm": true}, {"test": true}, {"battery": 10}, {"fault": 1}, {"garbage": true}, {"silent": true}' },
  'alarm-button': { kind: 'button', model: 'generic-sos-button', hint: 'e.g. {"press": true}, {"longPress": true}, {"cancel": true}, {"battery": 10}, {"garbage": true}, {"silent": true}' },
} as const;

/** The generic models' heartbeat interval, as their model entries say. */
const DEFAULT_HEARTBEAT_S = 3600;

function target(c: LorawanEntry, site: SimulatorSite): { url: string; username?: string; password?: string } | undefined {
  if (c.mqtt) {
    if (!LOOPBACK.test(c.mqtt.url)) return undefined;
    const password = c.mqtt.passwordFile ? readFileSync(c.mqtt.passwordFile, 'utf8').split(/\r?\n/)[0] : undefined;
    return { url: c.mqtt.url, username: c.mqtt.username, password };
  }
  return {
    url: site.brokerUrl ?? process.env.LORAWAN_SIM_URL ?? 'mqtt://127.0.0.1:1883',
    username: c.account ?? 'chirpstack',
    password: process.env.LORAWAN_SIM_PASSWORD ?? 'chirpstack-demo',
  };
}

function familySimulator(family: keyof typeof KINDS): FamilySimulator {
  const { kind, model, hint } = KINDS[family];
  return {
    changeHint: hint,
    async start(config: DriverConfig, log: Logger, site: SimulatorSite = {}) {
      const c = config as unknown as LorawanEntry;
      const to = target(c, site);
      if (!to) {
        log.info({ driver: c.id }, 'not simulated: the network server is not on this machine');
        return undefined;
      }
      const devices: SimDeviceConfig[] = c.devices
        .filter((d) => d.model === model)
        .map((d) => ({ id: d.id, devEui: d.devEui, kind, heartbeatIntervalS: d.heartbeatIntervalS ?? DEFAULT_HEARTBEAT_S }));
      if (devices.length === 0) return undefined;
      const sim = new LorawanSimulator({
        ...to,
        // A device account's client id starts with its user name.
        clientId: `${to.username ?? 'lorawan-sim'}:sim-${c.id}`,
        applicationId: c.applicationId === '+' ? DEMO_APPLICATION : c.applicationId,
        devices,
      });
      log.info({ driver: c.id, url: to.url, devices: devices.length }, `LoRaWAN ${kind} simulator (ChirpStack v4 MQTT events)`);
      return {
        devices: devices.map(
          (d): SimulatedDevice => ({ id: d.id, family, state: () => sim.state(d.id), apply: (body) => sim.apply(d.id, body) }),
        ),
        close: () => sim.close(),
      };
    },
  };
}

export const smokeSimulator = familySimulator('smoke-detector');
export const buttonSimulator = familySimulator('alarm-button');
