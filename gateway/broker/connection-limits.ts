import type { Socket } from 'node:net';
import type { BrokerLimits } from './broker-config.js';
import type { DenyReason } from './deny-reasons.js';

/**
 * Connection limits of the local broker, counted when a socket is accepted, before any MQTT byte
 * is read: open connections on all listeners together, and open connections per source address.
 */

export type ConnectionRefusal = Extract<DenyReason, 'max-connections' | 'max-connections-per-source'>;

export class ConnectionLimits {
  private open = 0;
  private readonly perSource = new Map<string, number>();

  constructor(private readonly limits: Pick<BrokerLimits, 'maxConnections' | 'maxConnectionsPerSource'>) {}

  /** Open connections (logged in or not), all listeners together. */
  get connections(): number {
    return this.open;
  }

  /** Source addresses with open connections. */
  get sources(): number {
    return this.perSource.size;
  }

  /** Counts a new connection from `source`; when over a limit, counts nothing and says which. */
  admit(source: string): ConnectionRefusal | undefined {
    const fromSource = this.perSource.get(source) ?? 0;
    const reason: ConnectionRefusal | undefined =
      this.open >= this.limits.maxConnections
        ? 'max-connections'
        : fromSource >= this.limits.maxConnectionsPerSource
          ? 'max-connections-per-source'
          : undefined;
    if (reason) return reason;
    this.open++;
    this.perSource.set(source, fromSource + 1);
    return undefined;
  }

  /** A connection that `admit` counted has closed. */
  release(source: string): void {
    this.open--;
    const n = (this.perSource.get(source) ?? 1) - 1;
    if (n > 0) this.perSource.set(source, n);
    else this.perSource.delete(source);
  }
}

/** The remote address as one string per host: IPv4-mapped IPv6 addresses in their IPv4 form. */
export function sourceOf(socket: Socket): string {
  const addr = socket.remoteAddress ?? 'unknown';
  return addr.startsWith('::ffff:') ? addr.slice(7) : addr;
}
