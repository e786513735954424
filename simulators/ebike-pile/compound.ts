/**
 * The ebike-pile part of the compound simulator: for a pile bus on loopback Modbus TCP, one
 * simulator serving every pile of the bus, each changed through the control API. An RTU bus or
 * a non-loopback address drives real piles: not simulated.
 */
import { z } from 'zod';
import type { EbikePileConfig } from '../../drivers/ebike-pile/schema.js';
import type { DriverConfig, FamilySimulator, SimulatedDevice } from '../../gateway/devices/driver-api.js';
import type { Logger } from '../../gateway/core/logger.js';
import { startEbikeSimulatorTcp } from './serve-tcp.js';
import { simulatedTcpAddress } from '../common/modbus-servers.js';


export const EbikeChange = z.strictObject({
  port: z.number().int().min(1),
  plug: z.boolean().optional(),
  overcurrent: z.boolean().optional(),
  overtemperature: z.boolean().optional(),
  stuckRelay: z.boolean().optional(),
  relayOn: z.boolean().optional(),
});

export const simulator: FamilySimulator = {
  changeHint: 'e.g. {"port": 3, "plug": true}, {"port": 3, "overcurrent": true}, {"port": 3, "stuckRelay": true}, {"port": 3, "overtemperature": true}',
  async start(config: DriverConfig, log: Logger) {
    const cfg = config as unknown as EbikePileConfig;
    const at = simulatedTcpAddress(cfg, log);
    if (!at) return undefined;
    const running = await startEbikeSimulatorTcp({
      host: at.host,
      port: at.port,
      units: cfg.devices.map((d) => ({ unitId: d.unitId, model: d.map })),
      speedup: 10, // a session tapers to full in about 10 s of the demo
    });
    const { sim } = running;
    const devices = cfg.devices.map((d): SimulatedDevice => ({
      id: d.id,
      family: 'ebike-pile',
      state: () => ({ unitId: d.unitId, blocks: sim.blocks(d.unitId) }),
      apply(body) {
        const c = EbikeChange.parse(body);
        sim.port(d.unitId, c.port); // an unknown port throws, naming it
        if (c.plug !== undefined) sim.plug(d.unitId, c.port, c.plug);
        if (c.relayOn !== undefined) sim.setRelay(d.unitId, c.port, c.relayOn);
        const { overcurrent, overtemperature, stuckRelay } = c;
        sim.inject(d.unitId, c.port, Object.fromEntries(Object.entries({ overcurrent, overtemperature, stuckRelay }).filter(([, v]) => v !== undefined)));
      },
    }));
    log.info({ driver: cfg.id, port: running.port, piles: cfg.devices.length }, 'e-bike pile simulator (Modbus TCP)');
    return { devices, close: () => running.close() };
  },
};
