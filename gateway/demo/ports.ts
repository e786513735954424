/**
 * The demo's ports, checked before anything starts: a port another program holds (Debian's
 * mosquitto on 1883, a web server on 8080) is named with the program that holds it, read from
 * /proc/net/tcp{,6} and /proc/<pid>/fd where readable.
 *
 * With the built-in demo site file, a held port of the local broker, the ops server or the
 * simulator's control server is replaced by a free one (the banner prints where everything is).
 * A port the user chose (`--broker-port`, `--http-port`, `--sim-port` or their own site file) is
 * never moved: the demo exits with the holder's name instead.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import type { SiteConfig } from '../../config/schema.js';
import { GatewayError } from '../core/errors.js';
import { freePort } from '../core/free-port.js';

/** "mosquitto (pid 812: /usr/sbin/mosquitto -c /etc/mosquitto/mosquitto.conf)" or "another program". */
export function portHolder(port: number, proc = '/proc'): string {
  const inodes = new Set<string>();
  for (const table of ['net/tcp', 'net/tcp6']) {
    const text = attempt(() => readFileSync(`${proc}/${table}`, 'utf8'), '');
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // local_address is ADDR:PORT in hex; state 0A is LISTEN; field 9 is the socket's inode.
      if (f.length > 9 && f[3] === '0A' && parseInt(f[1]!.split(':')[1]!, 16) === port) inodes.add(f[9]!);
    }
  }
  if (inodes.size) {
    const pids = attempt(() => readdirSync(proc).filter((p) => /^\d+$/.test(p)), []);
    for (const pid of pids) {
      // Another user's process, or one that ended meanwhile: nothing to read.
      for (const fd of attempt(() => readdirSync(`${proc}/${pid}/fd`), [])) {
        const link = attempt(() => readlinkSync(`${proc}/${pid}/fd/${fd}`), '');
        const m = /^socket:\[(\d+)\]$/.exec(link);
        if (m && inodes.has(m[1]!)) return describe(pid, proc);
      }
    }
  }
  return 'another program';
}

function attempt<T>(read: () => T, otherwise: T): T {
  try {
    return read();
  } catch {
    return otherwise;
  }
}

function describe(pid: string, proc: string): string {
  const read = (f: string) => attempt(() => readFileSync(`${proc}/${pid}/${f}`, 'utf8'), '');
  const name = read('comm').trim() || 'a program';
  const cmd = read('cmdline').split('\0').filter(Boolean).join(' ').replace(/\s+/g, ' ').trim();
  return `${name} (pid ${pid}${cmd ? `: ${cmd.length > 120 ? `${cmd.slice(0, 117)}...` : cmd}` : ''})`;
}

/** True when host:port can be listened on now. */
export function canListen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ host, port, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

export interface DemoPortOptions {
  /** The built-in demo site file is used: held ports may be replaced by free ones. */
  builtIn: boolean;
  brokerPort?: number;
  httpPort?: number;
  simPort: number;
  /** The simulator's control port was given with --sim-port. */
  simPortChosen: boolean;
}

export interface DemoPorts {
  config: SiteConfig;
  simPort: number;
  /** One line for each port that was moved because another program held it. */
  notes: string[];
}

interface Slot {
  what: string;
  flag: string;
  host: string;
  port: number;
  chosen: boolean;
  set(port: number): void;
}

/** Applies the port flags to the site file and checks every port of the list; see the file comment. */
export async function planDemoPorts(cfg: SiteConfig, o: DemoPortOptions): Promise<DemoPorts> {
  const listeners = cfg.broker.listeners.map((l) => ({ ...l }));
  const http = { ...cfg.http };
  let simPort = o.simPort;
  const tcp = listeners.find((l) => l.type === 'tcp');
  if (o.brokerPort !== undefined) {
    if (!tcp) throw new GatewayError('USAGE', '--broker-port: the site file has no tcp listener in broker.listeners', 'add one or leave out --broker-port');
    tcp.port = o.brokerPort;
  }
  if (o.httpPort !== undefined) http.port = o.httpPort;
  const slots: Slot[] = [
    ...listeners.map((l) => ({
      what: `the local broker's ${l.type} listener`,
      flag: l === tcp ? '--broker-port' : 'broker.listeners in a site file of your own (--config)',
      host: l.host,
      port: l.port,
      chosen: !o.builtIn || (l === tcp && o.brokerPort !== undefined),
      set: (p: number) => (l.port = p),
    })),
    { what: 'the ops server', flag: '--http-port', host: http.host, port: http.port, chosen: !o.builtIn || o.httpPort !== undefined, set: (p: number) => (http.port = p) },
    { what: "the simulator's control server", flag: '--sim-port', host: '127.0.0.1', port: simPort, chosen: o.simPortChosen, set: (p: number) => (simPort = p) },
  ];
  const notes: string[] = [];
  for (const s of slots) {
    if (s.port === 0 || (await canListen(s.host, s.port))) continue;
    const holder = portHolder(s.port);
    if (s.chosen) {
      throw new GatewayError(
        s.what.startsWith('the ops') ? 'HTTP_LISTEN' : 'BROKER_LISTEN',
        `port ${s.port} for ${s.what} (${s.host}) is in use by ${holder}`,
        `stop that program (Debian's mosquitto service: \`sudo systemctl stop mosquitto\`) or give another port: ${s.flag}`,
      );
    }
    const port = await freePort(s.host === '0.0.0.0' ? '127.0.0.1' : s.host);
    s.set(port);
    notes.push(`port ${s.port} is in use by ${holder}: ${s.what} listens on ${s.host}:${port} instead (${s.flag} to choose)`);
  }
  return { config: { ...cfg, broker: { ...cfg.broker, listeners }, http }, simPort, notes };
}

/** A port number from a flag, or a usage error naming the flag. */
export function portFlag(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535)
    throw new GatewayError('USAGE', `${flag} must be a port number (0-65535), got "${value}"`, 'run `gateway --help`');
  return n;
}
