/** Serves simulated gas detectors over Modbus TCP, on loopback only. */
import type { GasRegisterMap } from '../../drivers/gas-detector/models.js';
import { type RunningModbusTcp, serveModbusTcp } from '../common/modbus-servers.js';
import { GasDetectorSimulator, type SimUnitInit } from './simulator.js';

export interface GasSimulatorTcpOptions {
  /** Loopback only: 127.0.0.1 (default), localhost or ::1. */
  host?: string;
  /** 0 or absent: a free port is picked. */
  port?: number;
  units: readonly (number | SimUnitInit)[];
  map?: GasRegisterMap;
}

export interface RunningGasSimulatorTcp extends RunningModbusTcp {
  sim: GasDetectorSimulator;
}

export async function startGasSimulatorTcp(o: GasSimulatorTcpOptions): Promise<RunningGasSimulatorTcp> {
  const sim = new GasDetectorSimulator(o.units, o.map);
  return { ...(await serveModbusTcp(sim, { host: o.host, port: o.port, what: 'gas' })), sim };
}
