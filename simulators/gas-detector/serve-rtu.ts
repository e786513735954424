/** Serves simulated gas detectors over Modbus RTU on a serial port (e.g. one end of a socat pty pair). */
import type { GasModel } from '../../drivers/gas-detector/models.js';
import { type ModbusRtuOptions, serveModbusRtu } from '../common/modbus-servers.js';
import { GasDetectorSimulator, type SimUnitInit } from './simulator.js';

export interface GasSimulatorRtuOptions extends ModbusRtuOptions {
  units: readonly (number | SimUnitInit)[];
  /** The model of every unit not given its own (default generic-lel). */
  model?: GasModel;
}

export interface RunningGasSimulatorRtu {
  sim: GasDetectorSimulator;
  path: string;
  close(): Promise<void>;
}

export async function startGasSimulatorRtu(o: GasSimulatorRtuOptions): Promise<RunningGasSimulatorRtu> {
  const sim = new GasDetectorSimulator(o.units, o.model);
  return { ...(await serveModbusRtu(sim, o)), sim, path: o.path };
}
