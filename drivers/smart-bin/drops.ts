/**
 * Drop records, kept in the driver instance's durable store (`ctx.store`, a table of the
 * gateway's database) under `drop/<station>/<dropId>`: the key deduplicates a resent drop, and
 * the report reads every record by the `drop/` prefix. A record keeps the station's building at
 * the time of the drop, so moving a station in the site file does not rewrite history.
 */
import type { DriverStore } from '../../gateway/devices/driver-api.js';
import type { Category } from './schema.js';

export interface DropRecord {
  station: string;
  building?: string;
  householdId?: string;
  cardId?: string;
  category: Category;
  weightG: number;
  correct: boolean;
  /** When the drop happened (the station's time, else when the gateway received it), ISO 8601. */
  time: string;
}

export const DROP_PREFIX = 'drop/';
export const dropKey = (station: string, dropId: string): string => `${DROP_PREFIX}${station}/${dropId}`;

/** Every drop record of one driver instance at or after `since` (ms). */
export function dropsSince(store: DriverStore, since: number): DropRecord[] {
  return store
    .entries<DropRecord>(DROP_PREFIX)
    .map(([, r]) => r)
    .filter((r) => Date.parse(r.time) >= since);
}

/** Deletes the records older than `before` (ms); returns how many. */
export function pruneDrops(store: DriverStore, before: number): number {
  let n = 0;
  for (const [key, r] of store.entries<DropRecord>(DROP_PREFIX)) {
    if (Date.parse(r.time) < before) {
      store.delete(key);
      n++;
    }
  }
  return n;
}
