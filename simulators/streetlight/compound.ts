/**
 * The streetlight part of the compound simulator: for a controller bus on loopback Modbus TCP,
 * one simulator serving every controller of the bus, each changed through the control API. An
 * RTU bus or a non-loopback address drives real controllers: not simulated.
 */
import { z } from 'zod';
import type { StreetlightConfig } from '../../drivers/streetlight/schema.js';
import type { Logger } from '../../gateway/core/logger.js';
import type { DriverConfig, FamilySimulator, SimulatedDevice } from '../../gateway/devices/driver-api.js';
import { simulatedTcpAddress } from '../common/modbus-servers.js';
import { startStreetlightSimulatorTcp } from './serve-tcp.js';

export const StreetlightChange = z
  .strictObject({
    /** The lamp channel a `fail` applies to. */
    lamp: z.number().int().min(1).optional(),
    /** true: the lamp fails (open circuit); a failure bit's name (e.g. short-circuit); false: repaired. */
    fail: z.union([z.boolean(), z.string().min(1)]).optional(),
    /** The controller's fault code (0: none). */
    fault: z.number().int().min(0).max(65_535).optional(),
  })
  .refine((c) => c.fail === undefined || c.lamp !== undefined, { message: 'fail needs lamp: the lamp channel, e.g. {"lamp": 2, "fail": true}', path: ['lamp'] });

export const simulator: FamilySimulator = {
  changeHint: 'e.g. {"lamp": 1, "fail": true}, {"lamp": 1, "fail": false}, {"fault": 3}, {"fault": 0}',
  async start(config: DriverConfig, log: Logger) {
    const cfg = config as unknown as StreetlightConfig;
    const at = simulatedTcpAddress(cfg, log);
    if (!at) return undefined;
    const running = await startStreetlightSimulatorTcp({
      host: at.host,
      port: at.port,
      units: cfg.devices.map((d) => ({ unitId: d.unitId, model: d.map })),
      speedup: 60, // a minute of lamp burning per second: the energy meters move in the demo
    });
    const { sim } = running;
    const devices = cfg.devices.map((d): SimulatedDevice => ({
      id: d.id,
      family: 'streetlight',
      state: () => ({ unitId: d.unitId, blocks: sim.blocks(d.unitId) }),
      apply(body) {
        const c = StreetlightChange.parse(body);
        if (c.lamp !== undefined) sim.lamp(d.unitId, c.lamp); // an unknown lamp throws, naming it
        if (c.fail !== undefined) sim.fail(d.unitId, c.lamp!, c.fail);
        if (c.fault !== undefined) sim.setFault(d.unitId, c.fault);
      },
    }));
    log.info({ driver: cfg.id, port: running.port, controllers: cfg.devices.length }, 'streetlight simulator (Modbus TCP)');
    return { devices, close: () => running.close() };
  },
};
