/**
 * A LoRaWAN device model, as data: its payload codec (a `decodeUplink` JavaScript file), how
 * often it sends a heartbeat, and the table that turns the codec's output into the family's
 * normalised events. The families ship models; a site file adds its own under `models:`.
 */
import { z } from 'zod';

const Scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);

/**
 * One row of the table: when every `when` condition holds on the codec's `data`, the event
 * `event` is emitted with the data built by `data`.
 */
export const EventMapping = z.strictObject({
  /** The normalised event type, e.g. `smoke.alarm`; it must be one the family emits. */
  event: z.string().min(1),
  /**
   * `{ field: value }`: the codec's `data.<field>` (a dotted path) equals the value, or one of
   * the values of a list. Empty: every decoded uplink.
   */
  when: z.record(z.string().min(1), z.union([Scalar, z.array(Scalar).min(1)])).default({}),
  /**
   * `{ eventKey: source }`: the event's data. A source is a dotted path in the codec's `data`, or
   * the uplink's radio metadata: `$rssi`, `$snr`, `$fCnt`, `$fPort`, `$gateways`. A missing
   * source leaves the key out.
   */
  data: z.record(z.string().min(1), z.string().min(1)).default({}),
  /**
   * Emit only when the condition starts to hold, not on every uplink where it holds: for
   * devices that repeat a state flag (battery low) in every frame.
   */
  onChange: z.boolean().default(false),
});
export type EventMapping = z.infer<typeof EventMapping>;

export const LorawanModel = z.strictObject({
  description: z.string().optional(),
  /** The codec file: shipped models name theirs; a site model gives an absolute path (or one relative to the working directory). */
  codec: z.string().min(1),
  /** The device sends a heartbeat uplink this often (seconds); a device may override it. */
  heartbeatIntervalS: z.number().int().min(10).max(7 * 24 * 3600),
  events: z.array(EventMapping).min(1),
});
export type LorawanModel = z.infer<typeof LorawanModel>;
export type LorawanModelInput = z.input<typeof LorawanModel>;

export const ModelName = z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case letters, digits and "-"');

/** Radio metadata a mapping may read (`$rssi` ...). */
export interface UplinkMeta {
  rssi?: number;
  snr?: number;
  fCnt: number;
  fPort: number;
  gateways: number;
}

export interface MappedEvent {
  /** Index of the row in the model's table (for `onChange`). */
  row: number;
  event: string;
  data: Record<string, unknown>;
}

/** The value at a dotted path of a decoded object, or undefined. */
function at(obj: unknown, path: string): unknown {
  let v: unknown = obj;
  for (const k of path.split('.')) {
    if (v === null || typeof v !== 'object' || !Object.hasOwn(v, k)) return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  return v;
}

function holds(row: EventMapping, data: Record<string, unknown>): boolean {
  return Object.entries(row.when).every(([path, want]) => {
    const v = at(data, path);
    return Array.isArray(want) ? want.some((w) => w === v) : want === v;
  });
}

/**
 * The events one decoded uplink makes, in table order. `held` says which `onChange` rows held
 * on the device's previous uplink; the returned `held` is the new state to keep.
 */
export function mapEvents(
  rows: readonly EventMapping[],
  data: Record<string, unknown>,
  meta: UplinkMeta,
  held: readonly number[],
): { events: MappedEvent[]; held: number[] } {
  const events: MappedEvent[] = [];
  const nowHeld: number[] = [];
  rows.forEach((row, i) => {
    if (!holds(row, data)) return;
    if (row.onChange) {
      nowHeld.push(i);
      if (held.includes(i)) return;
    }
    const out: Record<string, unknown> = {};
    for (const [key, source] of Object.entries(row.data)) {
      const v = source.startsWith('$') ? meta[source.slice(1) as keyof UplinkMeta] : at(data, source);
      if (v !== undefined) out[key] = v;
    }
    events.push({ row: i, event: row.event, data: out });
  });
  return { events, held: nowHeld };
}

/** The `$` sources a mapping may use. */
export const META_SOURCES = ['$rssi', '$snr', '$fCnt', '$fPort', '$gateways'];
