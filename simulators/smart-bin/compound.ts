/**
 * The smart-bin part of the compound simulator: the stations of a smart-bin instance, publishing
 * to the embedded broker (the site's first TCP listener, else `BIN_SIM_URL`, else
 * mqtt://127.0.0.1:1883) with their `device` accounts, each with the password `BIN_SIM_PASSWORD`
 * (default `bin-demo`, the demo accounts'). Every `BIN_SIM_DROP_MS` (default 15 s) a household of
 * the station's building drops something, so a day is compressed into minutes; each station has
 * `BIN_SIM_HOUSEHOLDS` households (default 6: `<building>-101`, `<building>-102`, `<building>-201`, …).
 */
import type { Logger } from '../../gateway/core/logger.js';
import type { DriverConfig, FamilySimulator, SimulatedDevice, SimulatorSite } from '../../gateway/devices/driver-api.js';
import { accountOf, type SmartBinConfig } from '../../drivers/smart-bin/schema.js';
import { BinStationSimulator, type SimStation } from './station-sim.js';

function whole(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  const n = raw === undefined ? fallback : Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be a whole number ≥ ${min}, got "${raw}"`);
  return n;
}

/** Households of a station: two per floor, `<building or station>-<floor>0<unit>`. */
export function householdsOf(place: string, n: number): string[] {
  return Array.from({ length: n }, (_, i) => `${place}-${Math.floor(i / 2) + 1}0${(i % 2) + 1}`);
}

export const simulator: FamilySimulator = {
  changeHint:
    'e.g. {"smoke": true}, {"overheat": true}, {"tilt": true}, {"door": true}, {"empty": true}, {"drop": {"householdId": "B3-101", "category": "kitchen"}}, {"garbage": true}, {"oversized": true}, {"foreign": "bin-b1-1"}',
  async start(config: DriverConfig, log: Logger, site: SimulatorSite = {}) {
    const c = config as unknown as SmartBinConfig;
    const perStation = whole('BIN_SIM_HOUSEHOLDS', 6, 0);
    const dropMs = whole('BIN_SIM_DROP_MS', 15_000, 100);
    const stations: SimStation[] = c.devices.map((d) => ({
      id: d.id,
      account: accountOf(d),
      ...(d.building !== undefined ? { building: d.building } : {}),
      households: householdsOf(d.building ?? d.id, perStation),
    }));
    const url = site.brokerUrl ?? process.env.BIN_SIM_URL ?? 'mqtt://127.0.0.1:1883';
    const password = process.env.BIN_SIM_PASSWORD ?? 'bin-demo';
    const sim = await BinStationSimulator.start({ url, stations, password: () => password });
    const timer = setInterval(() => {
      sim.tick().catch((err: unknown) => log.warn({ err, driver: c.id }, 'bin station simulator: publish failed'));
    }, dropMs);
    log.info({ driver: c.id, url, stations: stations.length }, 'smart-bin station simulator (MQTT JSON)');
    return {
      devices: stations.map(
        (s): SimulatedDevice => ({ id: s.id, family: 'smart-bin', state: () => sim.state(s.id), apply: (body) => sim.apply(s.id, body) }),
      ),
      async close() {
        clearInterval(timer);
        await sim.close();
      },
    };
  },
};
