/**
 * The Modbus families and their shipped models, for `gateway discover modbus` and `gateway doctor`:
 * a family on the register-map format (drivers/modbus/register-map.ts) is listed here with the
 * key of its driver entry that lists the units (`devices:`, or `modules:` of the DI/DO boards).
 */
import { EBIKE_MODELS } from '../../drivers/ebike-pile/index.js';
import { GAS_MODELS } from '../../drivers/gas-detector/index.js';
import { MODELS as IO_MODELS } from '../../drivers/io-module/index.js';
import type { RegisterMap } from '../../drivers/modbus/register-map.js';
import { LIGHT_MODELS } from '../../drivers/streetlight/index.js';

export interface ModbusFamily {
  readonly family: string;
  readonly models: Readonly<Record<string, RegisterMap>>;
  /** The key of the driver entry listing the units (each `{ id, unitId, model }`). */
  readonly unitsKey: 'devices' | 'modules';
}

export const MODBUS_FAMILIES: readonly ModbusFamily[] = [
  { family: 'gas-detector', models: GAS_MODELS, unitsKey: 'devices' },
  { family: 'io-module', models: IO_MODELS, unitsKey: 'modules' },
  { family: 'ebike-pile', models: EBIKE_MODELS, unitsKey: 'devices' },
  { family: 'streetlight', models: LIGHT_MODELS, unitsKey: 'devices' },
];
