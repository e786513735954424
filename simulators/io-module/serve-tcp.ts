/** Serves simulated I/O modules over Modbus TCP (modbus-serial ServerTCP), on loopback only. */
import { ServerTCP } from 'modbus-serial';
import { freePort } from '../../gateway/core/free-port.js';
import { IoModuleSimulator, type SimModuleInit } from './simulator.js';

export interface IoSimulatorTcpOptions {
  /** Loopback only: 127.0.0.1 (default), localhost or ::1. */
  host?: string;
  /** 0 or absent: a free port is picked. */
  port?: number;
  modules: readonly (number | SimModuleInit)[];
}

export interface RunningIoSimulatorTcp {
  sim: IoModuleSimulator;
  host: string;
  port: number;
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

export async function startIoSimulatorTcp(o: IoSimulatorTcpOptions): Promise<RunningIoSimulatorTcp> {
  const host = o.host ?? '127.0.0.1';
  if (!LOOPBACK.has(host)) throw new Error(`the io-module simulator binds loopback only, not ${host}`);
  const sim = new IoModuleSimulator(o.modules);
  // ServerTCP turns port 0 into 502, so pick a free port ourselves; retry if it was taken meanwhile.
  for (let attempt = 1; ; attempt++) {
    const port = o.port || (await freePort(host));
    try {
      const server = await listen(sim, host, port);
      const close = () =>
        new Promise<void>((resolve) => {
          sim.dispose();
          server.close(() => resolve());
        });
      return { sim, host, port, close };
    } catch (err) {
      if (o.port || attempt >= 5 || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    }
  }
}

function listen(sim: IoModuleSimulator, host: string, port: number): Promise<ServerTCP> {
  return new Promise((resolve, reject) => {
    // unitID 255: answer every unit id, like an RS-485/TCP gateway; the vector stays silent for unknown units.
    const server = new ServerTCP(sim.vector(), { host, port, unitID: 255 });
    server.on('socketError', () => {}); // a client that vanished; nothing to do
    server.on('error', () => {});
    server.once('serverError', reject);
    server.once('initialized', () => resolve(server));
  });
}
