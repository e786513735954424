/** Serves simulated I/O modules over Modbus TCP, on loopback only. */
import { type RunningModbusTcp, serveModbusTcp } from '../common/modbus-servers.js';
import { IoModuleSimulator, type SimModuleInit } from './simulator.js';

export interface IoSimulatorTcpOptions {
  /** Loopback only: 127.0.0.1 (default), localhost or ::1. */
  host?: string;
  /** 0 or absent: a free port is picked. */
  port?: number;
  modules: readonly (number | SimModuleInit)[];
}

export interface RunningIoSimulatorTcp extends RunningModbusTcp {
  sim: IoModuleSimulator;
}

export async function startIoSimulatorTcp(o: IoSimulatorTcpOptions): Promise<RunningIoSimulatorTcp> {
  const sim = new IoModuleSimulator(o.modules);
  return { ...(await serveModbusTcp(sim, { host: o.host, port: o.port, what: 'io-module' })), sim };
}
