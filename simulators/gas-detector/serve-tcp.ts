/** Serves simulated gas detectors over Modbus TCP, on loopback only. */
import type { GasModel } from '../../drivers/gas-detector/models.js';
import { type RunningModbusTcp, serveModbusTcp } from '../common/modbus-servers.js';
import { GasDetectorSimulator, type SimUnitInit } from './simulator.js';

export interface GasSimulatorTcpOptions {
  /** Loopback only: 127.0.0.1 (default), localhost or ::1. */
  host?: string;
  /** 0 or absent: a free port is picked. */
  port?: number;
  units: readonly (number | SimUnitInit)[];
  /** The model of every unit not given its own (default generic-lel). */
  model?: GasModel;
}

export interface RunningGasSimulatorTcp extends RunningModbusTcp {
  sim: GasDetectorSimulator;
}

export async function startGasSimulatorTcp(o: GasSimulatorTcpOptions): Promise<RunningGasSimulatorTcp> {
  const sim = new GasDetectorSimulator(o.units, o.model);
  return { ...(await serveModbusTcp(sim, { host: o.host, port: o.port, what: 'gas' })), sim };
}
