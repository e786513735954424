/**
 * How a row of a device list becomes a device entry, per family: which device field the
 * `address` column fills and what a new driver instance for a `line` looks like. Every Modbus
 * family whose units are its devices (the registry's `modbus.unitsKey: 'devices'`) is imported
 * as a Modbus family; others are listed here. A family neither cannot be imported from a list
 * (its entries need credentials, URLs or wiring per channel: write them in the site file); add a
 * family here when a row says all it needs.
 */
import type { AnyFamily } from '../devices/driver-api.js';

export interface ImportFamily {
  /** The device field the `address` column fills: a Modbus unit id (1-247) or text as written. */
  address?: { field: string; kind: 'unitId' | 'text'; required: boolean; what: string };
  /** The device entry has a `model` field (checked against the family's models when validated). */
  model: boolean;
  /**
   * A new driver instance for a line: `modbus` takes the line as a serial device (RTU) or
   * host:port (TCP); `named` is an instance with the family's defaults, its id made from the line.
   */
  instance: 'modbus' | 'named';
}

const MODBUS: ImportFamily = {
  address: { field: 'unitId', kind: 'unitId', required: true, what: 'the Modbus unit id (1-247)' },
  model: true,
  instance: 'modbus',
};
const LORAWAN: ImportFamily = {
  address: { field: 'devEui', kind: 'text', required: true, what: 'the DevEUI (16 hex digits)' },
  model: true,
  instance: 'named',
};

export const IMPORT_FAMILIES: Readonly<Record<string, ImportFamily>> = {
  'smoke-detector': LORAWAN,
  'alarm-button': LORAWAN,
  'smart-bin': {
    address: { field: 'account', kind: 'text', required: false, what: 'the broker account the station publishes as' },
    model: false,
    instance: 'named',
  },
};

/** How `family` is imported, or undefined when it cannot be. */
export function importFamily(def: AnyFamily): ImportFamily | undefined {
  return IMPORT_FAMILIES[def.family] ?? (def.modbus?.unitsKey === 'devices' ? MODBUS : undefined);
}
