/** Event types of the ebike-pile family, each with its lane and the shape of its data (see normalise.ts). */
import { z } from 'zod';
import type { EventSpec } from '../../gateway/devices/driver-api.js';
import { PORT_STATES } from './models.js';

const Port = z.number().int().min(1);
const Reading = z.strictObject({
  port: Port,
  state: z.enum(PORT_STATES),
  amps: z.number(),
  watts: z.number(),
  energyWh: z.number().min(0),
  temperatureC: z.number(),
  limitAmps: z.number(),
  relayOn: z.boolean(),
  faultCode: z.number().int(),
});

export const EBIKE_EVENTS = {
  'pile.port.state': { kind: 'event', data: Reading, description: 'A port changed state (idle, charging, full, fault) or its relay switched' },
  'pile.port.reading': { kind: 'telemetry', data: Reading, description: 'Current, power, energy, temperature of a port (on change, or every reportIntervalMs)' },
  'pile.session.started': { kind: 'event', data: z.strictObject({ port: Port, energyWh: z.number().min(0) }), description: 'A port started charging; energyWh: its meter at the start' },
  'pile.session.stopped': {
    kind: 'event',
    data: z.strictObject({
      port: Port,
      energyWh: z.number().min(0),
      reason: z.enum(['unplugged', 'full', 'cut', 'overcurrent', 'overtemperature', 'fault']),
    }),
    description: 'A charging session ended; energyWh: energy delivered in the session',
  },
  'pile.overcurrent': { kind: 'alarm', data: Reading, description: 'A port drew more than its limit, or the pile reports an overcurrent fault' },
  'pile.overtemperature': { kind: 'alarm', data: Reading, description: 'A port is at or above overtemperatureC, or the pile reports an overtemperature fault' },
  'pile.fault': { kind: 'alarm', data: Reading, description: 'A port reports another fault code' },
} as const satisfies Record<string, EventSpec>;
