/** The installer's commands the `gateway` command dispatches to. */
import type { FamilyDiscover } from '../devices/driver-api.js';
import { modbusDiscover } from './discover-modbus.js';

/** `gateway discover <protocol>` the platform provides (protocols shared by several families). */
export const PLATFORM_DISCOVER: readonly FamilyDiscover[] = [modbusDiscover];
