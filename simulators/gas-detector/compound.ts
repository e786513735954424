/**
 * The gas-detector part of the compound simulator: for a gas bus on loopback Modbus TCP, one
 * simulator serving every detector of the bus, each changed through the control API.
 * An RTU bus or a non-loopback address drives real detectors: not simulated.
 */
import { z } from 'zod';
import type { GasDetectorConfig } from '../../drivers/gas-detector/schema.js';
import type { DriverConfig, FamilySimulator, SimulatedDevice } from '../../gateway/devices/driver-api.js';
import type { Logger } from '../../gateway/core/logger.js';
import { startGasSimulatorTcp } from './serve-tcp.js';
import { simulatedTcpAddress } from '../common/modbus-servers.js';


const GasChange = z.strictObject({
  lel: z.number().min(0).max(100).optional(),
  fault: z.number().int().min(0).max(0xffff).optional(),
  responding: z.boolean().optional(),
  valveClosed: z.boolean().optional(),
  lowThreshold: z.number().min(0).max(100).optional(),
  highThreshold: z.number().min(0).max(100).optional(),
});

export const simulator: FamilySimulator = {
  changeHint: 'e.g. {"lel": 60}, {"fault": 3}, {"responding": false}',
  async start(config: DriverConfig, log: Logger) {
    const gas = config as unknown as GasDetectorConfig;
    const at = simulatedTcpAddress(gas, log);
    if (!at) return undefined;
    const running = await startGasSimulatorTcp({
      host: at.host,
      port: at.port,
      // each detector served with its own model, site models included
      units: gas.devices.map((dev) => ({ unitId: dev.unitId, model: dev.map })),
    });
    const { sim } = running;
    const devices = gas.devices.map((dev): SimulatedDevice => {
      const unit = dev.unitId;
      return {
        id: dev.id,
        family: 'gas-detector',
        state: () => ({
          unitId: unit,
          status: sim.status(unit),
          valveClosed: sim.getValve(unit),
          requests: sim.requests(unit),
        }),
        apply(body) {
          const c = GasChange.parse(body);
          if (c.lel !== undefined) sim.setLel(unit, c.lel);
          if (c.fault !== undefined) sim.setFault(unit, c.fault);
          if (c.responding !== undefined) sim.setResponding(unit, c.responding);
          if (c.valveClosed !== undefined) sim.setValve(unit, c.valveClosed);
          sim.setThresholds(unit, c.lowThreshold, c.highThreshold);
        },
      };
    });
    log.info({ driver: gas.id, port: running.port, units: gas.devices.length }, 'gas detector simulator (Modbus TCP)');
    return { devices, close: () => running.close() };
  },
};
