/**
 * The one explicit list of device families. Adding a family = writing `drivers/<family>/`
 * and adding one line here; nothing else in the core changes.
 */
import type { AnyFamily, RegisteredFamily } from '../gateway/devices/driver-api.js';
import { accessGate } from './access-gate/index.js';
import { alarmButton } from './alarm-button/index.js';
import { evCharger } from './ev-charger/index.js';
import { gasDetector } from './gas-detector/index.js';
import { ioModule } from './io-module/index.js';
import { onvifCamera } from './onvif-camera/index.js';
import { smartBin } from './smart-bin/index.js';
import { ebikePile } from './ebike-pile/index.js';
import { smokeDetector } from './smoke-detector/index.js';
import { streetlight } from './streetlight/index.js';

export const FAMILIES: readonly RegisteredFamily[] = [
  { definition: gasDetector, simulator: () => import('../simulators/gas-detector/compound.js').then((m) => m.simulator) },
  { definition: smokeDetector, simulator: () => import('../simulators/lorawan/compound.js').then((m) => m.smokeSimulator) },
  { definition: alarmButton, simulator: () => import('../simulators/lorawan/compound.js').then((m) => m.buttonSimulator) },
  { definition: ioModule, simulator: () => import('../simulators/io-module/compound.js').then((m) => m.simulator) },
  { definition: accessGate, simulator: () => import('../simulators/access-gate/compound.js').then((m) => m.simulator) },
  { definition: evCharger, simulator: () => import('../simulators/ev-charger/compound.js').then((m) => m.simulator) },
  { definition: smartBin, simulator: () => import('../simulators/smart-bin/compound.js').then((m) => m.simulator) },
  { definition: ebikePile, simulator: () => import('../simulators/ebike-pile/compound.js').then((m) => m.simulator) },
  { definition: streetlight, simulator: () => import('../simulators/streetlight/compound.js').then((m) => m.simulator) },
  { definition: onvifCamera, simulator: () => import('../simulators/onvif-camera/compound.js').then((m) => m.simulator) },
];

export const DEFINITIONS: readonly AnyFamily[] = FAMILIES.map((f) => f.definition);

export function familyDefinition(family: string): AnyFamily | undefined {
  return DEFINITIONS.find((d) => d.family === family);
}
