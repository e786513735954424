/** Serves simulated gas detectors over Modbus TCP (modbus-serial ServerTCP), on loopback only. */
import { ServerTCP } from 'modbus-serial';
import { freePort } from '../../gateway/core/free-port.js';
import type { GasRegisterMap } from '../../drivers/gas-detector/models.js';
import { GasDetectorSimulator, type SimUnitInit } from './simulator.js';

export interface GasSimulatorTcpOptions {
  /** Loopback only: 127.0.0.1 (default), localhost or ::1. */
  host?: string;
  /** 0 or absent: a free port is picked. */
  port?: number;
  units: readonly (number | SimUnitInit)[];
  map?: GasRegisterMap;
}

export interface RunningGasSimulatorTcp {
  sim: GasDetectorSimulator;
  host: string;
  port: number;
  /** Failure injection: reset every client connection (the master sees ECONNRESET). */
  resetConnections(): void;
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

export async function startGasSimulatorTcp(o: GasSimulatorTcpOptions): Promise<RunningGasSimulatorTcp> {
  const host = o.host ?? '127.0.0.1';
  if (!LOOPBACK.has(host)) throw new Error(`the gas simulator binds loopback only, not ${host}`);
  const sim = new GasDetectorSimulator(o.units, o.map);
  // ServerTCP turns port 0 into 502 (`options.port || 502`), so pick a free port ourselves; retry if it was taken meanwhile.
  for (let attempt = 1; ; attempt++) {
    const port = o.port || (await freePort(host));
    try {
      const server = await listen(sim, host, port);
      return {
        sim,
        host,
        port,
        resetConnections: () => {
          for (const sock of server.socks.keys()) sock.resetAndDestroy();
        },
        close: () =>
          new Promise<void>((resolve) => {
            sim.dispose();
            server.close(() => resolve());
          }),
      };
    } catch (err) {
      if (o.port || attempt >= 5 || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    }
  }
}

function listen(sim: GasDetectorSimulator, host: string, port: number): Promise<ServerTCP> {
  return new Promise((resolve, reject) => {
    // unitID 255: answer every unit id, like an RS-485/TCP gateway; the vector stays silent for unknown units.
    const server = new ServerTCP(sim.vector(), { host, port, unitID: 255 });
    server.on('socketError', () => {}); // a client that vanished; nothing to do
    server.on('error', () => {});
    server.once('serverError', reject);
    server.once('initialized', () => resolve(server));
  });
}
