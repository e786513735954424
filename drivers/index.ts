/**
 * The one explicit list of device drivers. Adding a family = writing `drivers/<family>/`
 * and adding its definition here; nothing else in the core changes.
 */
import type { AnyDriverDefinition } from '../gateway/devices/driver-api.js';
import { gasDetectorDriver } from './gas-detector/index.js';

export const DRIVERS: readonly AnyDriverDefinition[] = [gasDetectorDriver];

export function driverFor(family: string): AnyDriverDefinition | undefined {
  return DRIVERS.find((d) => d.family === family);
}
