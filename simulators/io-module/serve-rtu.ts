/** Serves simulated I/O modules over Modbus RTU on a serial port (e.g. one end of a socat pty pair). */
import { ServerSerial } from 'modbus-serial';
import { IoModuleSimulator, type SimModuleInit } from './simulator.js';

export interface IoSimulatorRtuOptions {
  path: string;
  baudRate?: number;
  parity?: 'none' | 'even' | 'odd';
  modules: readonly (number | SimModuleInit)[];
}

export interface RunningIoSimulatorRtu {
  sim: IoModuleSimulator;
  path: string;
  close(): Promise<void>;
}

export function startIoSimulatorRtu(o: IoSimulatorRtuOptions): Promise<RunningIoSimulatorRtu> {
  const sim = new IoModuleSimulator(o.modules);
  return new Promise((resolve, reject) => {
    const server = new ServerSerial(sim.vector(), {
      path: o.path,
      baudRate: o.baudRate ?? 9600,
      parity: o.parity ?? 'none',
      unitID: 255, // answer every unit id; the vector stays silent for unknown or dead modules
      openCallback: (err) => {
        if (err) reject(err);
      },
    });
    // The serial port re-emits read/write errors (e.g. the other end went away); never let them crash the process.
    (server as unknown as { getPort(): NodeJS.EventEmitter }).getPort().on('error', () => {});
    server.on('error', () => {});
    server.on('socketError', () => {});
    server.once('initialized', () =>
      resolve({
        sim,
        path: o.path,
        close: () =>
          new Promise<void>((done) => {
            sim.dispose();
            server.close(() => done());
          }),
      }),
    );
  });
}
