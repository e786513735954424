/**
 * The ev-charger part of the compound simulator: one simulated OCPP 1.6J charge point per pile
 * of a driver instance listening on loopback, connecting to it with HTTP Basic. The site file
 * keeps only password hashes, so the simulated piles use the password in
 * `CG_EV_SIM_PASSWORD` (default `ev-demo-password`): hash it with `gateway hash-password` for
 * the `passwordHash` of each simulated pile. A driver listening on another address serves real
 * piles: not simulated. With `listen.tls` the piles connect over wss (OCPP 1.6 security profile
 * 2), trusting the CA certificates in `CG_EV_SIM_CA` (a PEM file; default `listen.tls.caFile`,
 * else the server certificate itself, as for a self-signed one).
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { EvChargerConfig } from '../../drivers/ev-charger/schema.js';
import type { Logger } from '../../gateway/core/logger.js';
import type { DriverConfig, FamilySimulator, SimulatedDevice } from '../../gateway/devices/driver-api.js';
import { ChargePoint } from './charge-point.js';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);
export const DEFAULT_SIM_PASSWORD = 'ev-demo-password';

export const EvChange = z
  .strictObject({
    /** Which connector (default 1). */
    connector: z.number().int().min(1).default(1),
    /** A car plugs in and the card is presented: StartTransaction with this idTag. */
    start: z.string().min(1).max(20).optional(),
    /** Charging power in W while charging (meter values every 10 s). */
    powerW: z.number().min(0).max(350_000).optional(),
    /** The car is unplugged: StopTransaction. */
    stop: z.literal(true).optional(),
    /** The over-current protection trips: Faulted / OverCurrentFailure, then StopTransaction. */
    trip: z.literal(true).optional(),
    /** The connector is back to Available after a fault. */
    repaired: z.literal(true).optional(),
    /** The pile loses (true) or regains (false) its network connection. */
    offline: z.boolean().optional(),
  })
  .refine((c) => Object.keys(c).some((k) => k !== 'connector'), { message: 'say what happens, e.g. {"start": "CARD-1"}' });

async function apply(cp: ChargePoint, change: unknown): Promise<void> {
  const c = EvChange.parse(change);
  if (!cp.connectors.has(c.connector)) throw new Error(`connector ${c.connector} does not exist (1..${cp.connectors.size})`);
  if (c.offline === true) await cp.client.close({ force: true });
  if (c.offline === false) await cp.connect();
  if (c.powerW !== undefined) cp.powerW.set(c.connector, c.powerW);
  if (c.start !== undefined) await cp.startTransaction(c.connector, c.start);
  if (c.stop) await cp.stopTransaction(c.connector, 'EVDisconnected');
  if (c.trip) await cp.overcurrentTrip(c.connector);
  if (c.repaired) await cp.status(c.connector, 'Available');
}

export const simulator: FamilySimulator = {
  changeHint:
    'e.g. {"start": "CARD-1"}, {"powerW": 11000}, {"stop": true}, {"trip": true}, {"repaired": true}, {"offline": true}, {"connector": 2, "start": "CARD-2"}',
  async start(config: DriverConfig, log: Logger) {
    const ev = config as unknown as EvChargerConfig;
    if (!LOOPBACK.has(ev.listen.host)) {
      log.info({ driver: ev.id }, 'not simulated: the piles connect over the network');
      return undefined;
    }
    const host = ev.listen.host.includes(':') ? `[${ev.listen.host}]` : ev.listen.host;
    const password = process.env.CG_EV_SIM_PASSWORD ?? DEFAULT_SIM_PASSWORD;
    const tls = ev.listen.tls;
    const caFile = tls && (process.env.CG_EV_SIM_CA ?? tls.caFile ?? tls.certFile);
    const ca = caFile ? readFileSync(caFile) : undefined;
    const endpoint = `${tls ? 'wss' : 'ws'}://${host}:${ev.listen.port}/ocpp`;
    const piles = ev.devices.map((d) => {
      const cp = new ChargePoint({ endpoint, identity: d.id, password, connectors: d.connectors, ...(ca ? { ca } : {}) });
      // The gateway may start after the simulator: the pile retries with backoff until it can boot.
      void cp.start();
      cp.run(10_000);
      return cp;
    });
    const devices = piles.map(
      (cp): SimulatedDevice => ({
        id: cp.o.identity,
        family: 'ev-charger',
        state: () => ({
          connected: cp.client.state === 1,
          connectors: Object.fromEntries([...cp.connectors].map(([id, c]) => [id, { status: c.status, meterWh: c.meterWh, transactionId: c.tx?.id }])),
        }),
        apply: (change) => apply(cp, change),
      }),
    );
    log.info({ driver: ev.id, piles: piles.length }, 'EV charge point simulator (OCPP 1.6J)');
    return { devices, close: async () => void (await Promise.all(piles.map((cp) => cp.close()))) };
  },
};
