/**
 * Built-in alarm rules of the smart-bin family, as data (a site disables or replaces each by id).
 * Smoke or overheating in a bin room is a fire risk: critical, and a person checks the room before
 * it is resolved. A full station is a service task for the cleaning staff: an `info` alarm on the
 * console that clears by itself once the station reports no compartment full (emptied).
 */
import type { RuleInput } from '../../gateway/devices/driver-api.js';

const place = '{device.id}（{device.building} {device.zone}）';
const devices = { family: 'smart-bin' };

export const BIN_RULES: readonly RuleInput[] = [
  {
    id: 'bin-fire-risk',
    description: 'Smoke or overheating at a bin station: fire risk, critical, latched until a person resolves it.',
    severity: 'critical',
    message: `垃圾房火灾隐患（冒烟或过热）：${place}，请立即到场检查`,
    match: { type: ['bin.smoke', 'bin.overheat'], devices },
    latch: true,
    clear: 'manual',
  },
  {
    id: 'bin-full',
    description: 'A bin station has a full compartment: a service task; clears when no compartment is full.',
    severity: 'info',
    message: `垃圾桶已满，请安排清运：${place}`,
    match: { type: 'bin.full', devices, where: { full: true } },
    clear: { type: 'bin.full', where: { full: false } },
  },
  {
    id: 'bin-tilt',
    description: 'A bin station was tipped over; clears when it reports upright again.',
    severity: 'warning',
    message: `垃圾桶倾倒：${place}`,
    match: { type: 'bin.tilt', devices, where: { tilted: true } },
    clear: { type: 'bin.tilt', where: { tilted: false } },
  },
];
