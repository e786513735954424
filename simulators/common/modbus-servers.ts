/**
 * Modbus slave servers for the simulators (modbus-serial ServerTCP / ServerSerial), shared by
 * every Modbus family's simulator: the family gives its service vector (its registers), these
 * serve it over Modbus TCP on loopback or Modbus RTU on a serial port. Unit id 255: every unit id
 * is answered, like an RS-485/TCP gateway; the vector stays silent for unknown or dead units.
 */
import { type IServiceVector, ServerSerial, ServerTCP } from 'modbus-serial';
import { freePort } from '../../gateway/core/free-port.js';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

/** A loopback host name: only such addresses are simulated (and served). */
export const isLoopback = (host: string): boolean => LOOPBACK.has(host);

/**
 * The address a Modbus bus of the site file is simulated at: a TCP bus on a loopback address;
 * an RTU bus or another address drives real devices (logged, undefined).
 */
export function simulatedTcpAddress(
  driver: { id: string; transport: { type: string; host?: string; port?: number } },
  log: { info(o: object, msg: string): void },
): { host: string; port: number } | undefined {
  const t = driver.transport;
  if (t.type === 'tcp' && t.host !== undefined && t.port !== undefined && isLoopback(t.host)) return { host: t.host, port: t.port };
  log.info({ driver: driver.id }, 'not simulated: real bus (RTU or non-loopback TCP)');
  return undefined;
}

export interface RunningModbusTcp {
  host: string;
  port: number;
  /** Failure injection: reset every client connection (the master sees ECONNRESET). */
  resetConnections(): void;
  close(): Promise<void>;
}

/** What is served: the family simulator's vector, and how to stop it (on close, or when serving fails). */
export interface Served {
  vector(): IServiceVector;
  dispose(): void;
}

/** Serves a simulator over Modbus TCP on a loopback address; port 0 or absent picks a free port. */
export async function serveModbusTcp(
  sim: Served,
  o: { host?: string; port?: number; what: string },
): Promise<RunningModbusTcp> {
  try {
    return await tcp(sim, o);
  } catch (err) {
    sim.dispose();
    throw err;
  }
}

async function tcp(sim: Served, o: { host?: string; port?: number; what: string }): Promise<RunningModbusTcp> {
  const host = o.host ?? '127.0.0.1';
  if (!LOOPBACK.has(host)) throw new Error(`the ${o.what} simulator binds loopback only, not ${host}`);
  // ServerTCP turns port 0 into 502 (`options.port || 502`), so pick a free port ourselves; retry if it was taken meanwhile.
  for (let attempt = 1; ; attempt++) {
    const port = o.port || (await freePort(host));
    try {
      const server = await listenTcp(sim.vector(), host, port);
      return {
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

function listenTcp(vector: IServiceVector, host: string, port: number): Promise<ServerTCP> {
  return new Promise((resolve, reject) => {
    const server = new ServerTCP(vector, { host, port, unitID: 255 });
    server.on('socketError', () => {}); // a client that vanished; nothing to do
    server.on('error', () => {});
    server.once('serverError', reject);
    server.once('initialized', () => resolve(server));
  });
}

export interface ModbusRtuOptions {
  path: string;
  baudRate?: number;
  parity?: 'none' | 'even' | 'odd';
}

/** Serves a simulator over Modbus RTU on a serial port (e.g. one end of a socat pty pair). */
export async function serveModbusRtu(sim: Served, o: ModbusRtuOptions): Promise<{ close(): Promise<void> }> {
  try {
    return await rtu(sim, o);
  } catch (err) {
    sim.dispose();
    throw err;
  }
}

function rtu(sim: Served, o: ModbusRtuOptions): Promise<{ close(): Promise<void> }> {
  return new Promise((resolve, reject) => {
    const server = new ServerSerial(sim.vector(), {
      path: o.path,
      baudRate: o.baudRate ?? 9600,
      parity: o.parity ?? 'none',
      unitID: 255,
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
        close: () =>
          new Promise<void>((done) => {
            sim.dispose();
            server.close(() => done());
          }),
      }),
    );
  });
}
