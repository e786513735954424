/** Event types of the ev-charger family (OCPP 1.6J charge points), with their lanes and data. */
import { z } from 'zod';
import type { EventSpec, Severity } from '../../gateway/devices/driver-api.js';

const Connector = z.number().int().min(0);
const TxId = z.number().int();

export const EV_EVENTS = {
  'ev.status': {
    kind: 'event',
    data: z.object({
      connectorId: Connector,
      status: z.string(),
      errorCode: z.string(),
      info: z.string().optional(),
      vendorErrorCode: z.string().optional(),
    }),
    description: 'A connector (0: the whole charge point) changed status (StatusNotification)',
  },
  'ev.fault': {
    kind: 'alarm',
    data: z.object({
      connectorId: Connector,
      errorCode: z.string(),
      info: z.string().optional(),
      vendorErrorCode: z.string().optional(),
    }),
    description: 'The charge point reports a fault (StatusNotification Faulted, e.g. OverCurrentFailure, GroundFailure)',
  },
  'ev.transaction.started': {
    kind: 'event',
    data: z.object({ transactionId: TxId, connectorId: Connector, idTag: z.string(), meterStartWh: z.number() }),
    description: 'A charging session started (StartTransaction)',
    personal: ['idTag'],
  },
  'ev.transaction.stopped': {
    kind: 'event',
    data: z.object({
      transactionId: TxId,
      connectorId: Connector,
      idTag: z.string().optional(),
      energyWh: z.number(),
      reason: z.string(),
    }),
    description: 'A charging session ended (StopTransaction): energy delivered (meterStop − meterStart) and why',
    personal: ['idTag'],
  },
  'ev.meter': {
    kind: 'telemetry',
    data: z.object({
      connectorId: Connector,
      transactionId: TxId.optional(),
      energyWh: z.number().optional(),
      powerW: z.number().optional(),
      currentA: z.number().optional(),
    }),
    description: 'Meter values of a connector (MeterValues): energy register, active power, current',
  },
} as const satisfies Record<string, EventSpec>;

export type EvEventType = keyof typeof EV_EVENTS;

export const EV_SEVERITY: Record<EvEventType, Severity> = {
  'ev.status': 'info',
  'ev.fault': 'major',
  'ev.transaction.started': 'info',
  'ev.transaction.stopped': 'info',
  'ev.meter': 'info',
};
