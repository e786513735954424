/**
 * What a device watches: a camera names the devices, zones and buildings in its view. An alarm
 * on a watched device reaches the watchers through the `watchers` target of a linkage action
 * (e.g. the camera turns to its preset and takes a snapshot).
 */
import { z } from 'zod';
import type { DeviceRef } from './envelope.js';

export const Watches = z.strictObject({
  /** Device ids in view. */
  devices: z.array(z.string().min(1)).default([]),
  /** `B1` (the whole building) or `B1/lobby` (one zone of it). */
  zones: z
    .array(z.string().regex(/^[^/]+(\/[^/]+)?$/, 'a building (`B1`) or a building and zone (`B1/lobby`)'))
    .default([]),
});
export type Watches = z.infer<typeof Watches>;

/** True when `w` has the device in view: by its id, its building, or its building and zone. */
export function watchesDevice(w: Watches, d: DeviceRef): boolean {
  if (w.devices.includes(d.id)) return true;
  if (d.building === undefined) return false;
  return w.zones.some((z) => z === d.building || (d.zone !== undefined && z === `${d.building}/${d.zone}`));
}
