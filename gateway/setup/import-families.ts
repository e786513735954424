/**
 * How a row of a device list becomes a device entry, per family: which device field the
 * `address` column fills and what a new driver instance for a `line` looks like. A family not
 * listed here cannot be imported from a list (its entries need credentials, URLs or wiring per
 * channel: write them in the site file); add a family here when a row says all it needs.
 */
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
  'gas-detector': MODBUS,
  'ebike-pile': MODBUS,
  streetlight: MODBUS,
  'smoke-detector': LORAWAN,
  'alarm-button': LORAWAN,
  'smart-bin': {
    address: { field: 'account', kind: 'text', required: false, what: 'the broker account the station publishes as' },
    model: false,
    instance: 'named',
  },
};
