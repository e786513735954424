import type { Client } from 'aedes';

/**
 * The limit on topic filters one client may hold subscribed. A new filter beyond the limit is
 * refused (the broker answers it with a failure in the SUBACK, §3.9.3); a filter the client
 * already holds may be subscribed again, and an unsubscribed one frees its place.
 */
export class SubscriptionLimit {
  private readonly held = new WeakMap<Client, Set<string>>();

  constructor(private readonly maxPerClient: number) {}

  /** Counts `filter` for the client; false (nothing counted) when it is a new one beyond the limit. */
  add(client: Client, filter: string): boolean {
    let held = this.held.get(client);
    if (!held) {
      held = new Set();
      this.held.set(client, held);
    }
    if (!held.has(filter) && held.size >= this.maxPerClient) return false;
    held.add(filter);
    return true;
  }

  /** The client unsubscribed these filters. */
  remove(client: Client, filters: readonly string[]): void {
    const held = this.held.get(client);
    for (const f of filters) held?.delete(f);
  }
}
