/**
 * The Modbus families and their shipped models, for `gateway discover modbus` and `gateway doctor`:
 * each family on the register-map format (drivers/modbus/register-map.ts) declares them in its
 * definition (`modbus`: its models and the key of its driver entry that lists the units).
 */
import { DEFINITIONS } from '../../drivers/index.js';
import type { RegisterMap } from '../../drivers/modbus/register-map.js';

export interface ModbusFamily {
  readonly family: string;
  readonly models: Readonly<Record<string, RegisterMap>>;
  /** The key of the driver entry listing the units (each `{ id, unitId, model }`). */
  readonly unitsKey: 'devices' | 'modules';
}

/** Every registered family that declares its Modbus models (`modbus` in its definition). */
export const MODBUS_FAMILIES: readonly ModbusFamily[] = DEFINITIONS.flatMap((d) =>
  d.modbus ? [{ family: d.family, models: d.modbus.models as Readonly<Record<string, RegisterMap>>, unitsKey: d.modbus.unitsKey }] : [],
);
