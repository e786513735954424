/**
 * Built-in fire linkage, as data. A confirmed fire spans families (detectors of several kinds,
 * the gates, the sirens), so it belongs to none of them: it is on whenever the `smoke-detector`
 * family is registered. Gates and sirens that are not registered (or not configured) are simply
 * no targets.
 *
 * Confirmation follows GB 50116 §4.1.6: linkage starts on the AND of two independent alarm
 * devices, here two different detectors in one building within 2 minutes, at least one of them a
 * smoke detector (two smoke detectors, or smoke and gas; two gas detectors are a gas leak, which
 * has its own rules, not a fire). Then every gate of the building and every exit gate of the site
 * is held open, the building's sirens sound and its EV chargers stop and go out of service, its e-bike piles are cut, and
 * every streetlight of the site goes to emergency full-on (lit roads for evacuation and the fire
 * brigade; by day the lamps stay off); when a person resolves the alarm, the gates return to
 * normal operation, the sirens stop, the chargers are back in service and the streetlights
 * return to their schedules.
 */
import type { RuleInput } from '../core/rule-schema.js';
import type { AnyFamily } from '../devices/driver-api.js';

export const FIRE_DETECTOR_FAMILY = 'smoke-detector';

type Target = NonNullable<RuleInput['actions']>[number]['target'];
const buildingGates: Target = { scope: 'building', devices: { family: 'access-gate' } };
const exitGates: Target = { scope: 'site', devices: { family: 'access-gate', tags: ['exit'] } };
const buildingSirens: Target = { scope: 'building', devices: { family: 'io-module', tags: ['siren'] } };
const buildingChargers: Target = { scope: 'building', devices: { family: 'ev-charger' } };
const buildingEbikePiles: Target = { scope: 'building', devices: { family: 'ebike-pile' } };
const siteStreetlights: Target = { scope: 'site', devices: { family: 'streetlight' } };

/** The fire rules for these families: none without a smoke detector family. */
export function fireRules(families: readonly AnyFamily[]): RuleInput[] {
  if (!families.some((f) => f.family === FIRE_DETECTOR_FAMILY)) return [];
  return [
    {
      id: 'fire-confirmed',
      description:
        'Confirmed fire: two different detectors in one building within 2 minutes, at least one a smoke detector (smoke and smoke, or smoke and gas; GB 50116 §4.1.6). Gates held open, sirens on, streetlights of the site full-on at night; back to normal when resolved.',
      severity: 'critical',
      message: '火警确认：{device.building} 两个探测器报警（最近：{device.id} {device.zone}）',
      match: { type: ['smoke.alarm', 'gas.alarm.high'] },
      subject: 'building',
      count: { n: 2, within: '2m', distinctDevices: true, including: { family: FIRE_DETECTOR_FAMILY } },
      // A fire is over when a person says so (the fire alarm controller is reset by hand).
      latch: true,
      clear: 'manual',
      actions: [
        { command: 'door.always-open', target: buildingGates },
        { command: 'door.always-open', target: exitGates },
        { command: 'siren.on', target: buildingSirens },
        // EV chargers of the building: stop charging and take them out of service (OCPP 1.6 RemoteStopTransaction, ChangeAvailability).
        { command: 'remote-stop', target: buildingChargers },
        { command: 'change-availability', args: { type: 'Inoperative' }, target: buildingChargers },
        // E-bike piles of the building: every port cut (batteries charging in corridors feed a fire).
        { command: 'pile.cut-all', target: buildingEbikePiles },
        // Streetlights of the whole site: lamps on at night go to 100 % until the fire is resolved.
        { command: 'light.emergency', args: { on: true }, target: siteStreetlights },
        { on: 'resolve', command: 'door.resume', target: buildingGates },
        { on: 'resolve', command: 'door.resume', target: exitGates },
        { on: 'resolve', command: 'siren.off', target: buildingSirens },
        { on: 'resolve', command: 'change-availability', args: { type: 'Operative' }, target: buildingChargers },
        { on: 'resolve', command: 'light.emergency', args: { on: false }, target: siteStreetlights },
      ],
    },
  ];
}
