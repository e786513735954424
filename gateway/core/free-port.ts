/**
 * Asks for a TCP port that is free on 127.0.0.1 right now (for servers that cannot listen on port 0).
 *
 * The port is picked at random below the OS's ephemeral range (Linux: net.ipv4.ip_local_port_range),
 * where the local ports of outgoing connections and of listens on port 0 come from: one of those
 * cannot take it between this probe and the server's listen. Where that range is unknown, or no
 * port below it is free after a few tries, the OS picks one.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

const LOWEST = 10_000;
const TRIES = 20;

export async function freePort(host = '127.0.0.1'): Promise<number> {
  const below = ephemeralStart();
  if (below > LOWEST) {
    for (let i = 0; i < TRIES; i++) {
      const port = await probe(host, LOWEST + Math.floor(Math.random() * (below - LOWEST)));
      if (port) return port;
    }
  }
  const port = await probe(host, 0);
  if (!port) throw new Error(`no free TCP port on ${host}`);
  return port;
}

/** The first port of the ephemeral range, or 0 when unknown (not Linux). */
function ephemeralStart(): number {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || 0;
  } catch {
    return 0;
  }
}

/** Listens on `port` (0: the OS picks) and closes again: the port it got, 0 if taken or refused. */
function probe(host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', (err: NodeJS.ErrnoException) => (port && (err.code === 'EADDRINUSE' || err.code === 'EACCES') ? resolve(0) : reject(err)));
    srv.listen({ host, port }, () => {
      const addr = srv.address();
      const got = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(got));
    });
  });
}
