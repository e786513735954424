/** Which preset a camera turns to for an alarm's device: the pure lookup of `watches.presetFor` and `watches.preset`. */
import type { CameraWatches } from './schema.js';

/**
 * The preset for the device (id, building, zone of the alarm's device): its own entry in
 * `presetFor`, else its `building/zone`'s, else its building's, else `preset`; undefined when none.
 */
export function presetFor(w: CameraWatches | undefined, a: { device?: string; building?: string; zone?: string }): string | undefined {
  if (!w) return undefined;
  const keys = [a.device, a.building && a.zone ? `${a.building}/${a.zone}` : undefined, a.building];
  for (const k of keys) if (k !== undefined && w.presetFor[k] !== undefined) return w.presetFor[k];
  return w.preset;
}
