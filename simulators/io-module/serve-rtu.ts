/** Serves simulated I/O modules over Modbus RTU on a serial port (e.g. one end of a socat pty pair). */
import { type ModbusRtuOptions, serveModbusRtu } from '../common/modbus-servers.js';
import { IoModuleSimulator, type SimModuleInit } from './simulator.js';

export interface IoSimulatorRtuOptions extends ModbusRtuOptions {
  modules: readonly (number | SimModuleInit)[];
}

export interface RunningIoSimulatorRtu {
  sim: IoModuleSimulator;
  path: string;
  close(): Promise<void>;
}

export async function startIoSimulatorRtu(o: IoSimulatorRtuOptions): Promise<RunningIoSimulatorRtu> {
  const sim = new IoModuleSimulator(o.modules);
  return { ...(await serveModbusRtu(sim, o)), sim, path: o.path };
}
