/**
 * Stand-ins of the smoke detector, access gate and I/O module families for rule tests: only what
 * the rules see (family name, event types, commands). Their drivers are not run here.
 */
import { z } from 'zod';
import type { DeviceRef } from '../../core/envelope.js';
import type { AnyFamily, EventSpec } from '../../devices/driver-api.js';

const empty = z.strictObject({});
const event = (kind: EventSpec['kind'], description: string, personal?: string[]): EventSpec => ({
  kind,
  data: z.record(z.string(), z.unknown()),
  description,
  ...(personal ? { personal } : {}),
});

function family(name: string, events: Record<string, EventSpec>, commands: Record<string, z.ZodType>): AnyFamily {
  return {
    family: name,
    configSchema: z.strictObject({ family: z.literal(name) }),
    commands,
    events,
    lifeSafety: name !== 'access-gate',
    create: () => {
      throw new Error(`${name} is a rule-test stand-in: it has no driver`);
    },
  } as unknown as AnyFamily;
}

export const smokeFamily = family(
  'smoke-detector',
  {
    'smoke.alarm': event('alarm', 'smoke'),
    'smoke.alarm.cleared': event('event', 'smoke gone'),
    'device.heartbeat': event('telemetry', 'heartbeat'),
  },
  {},
);

const door = z.strictObject({ door: z.number().int().min(1).default(1) });
export const gateFamily = family(
  'access-gate',
  {
    'access.granted': event('event', 'granted', ['employeeNo', 'cardNo', 'name']),
    'door.forced': event('alarm', 'forced'),
  },
  { 'door.always-open': door, 'door.resume': door, 'door.open': door },
);

export const ioFamily = family(
  'io-module',
  { 'output.state': event('event', 'output state') },
  { 'siren.on': empty, 'siren.off': empty, 'output.on': empty, 'output.off': empty },
);

/** Two buildings: smoke detectors, a second gas detector in B2 (the harness has gas-b2-101), gates (one an exit gate of B2), sirens. */
export const FIRE_DEVICES: DeviceRef[] = [
  { id: 'smoke-b1-1', family: 'smoke-detector', building: 'B1', zone: 'stair-1', tags: [] },
  { id: 'smoke-b1-2', family: 'smoke-detector', building: 'B1', zone: 'stair-2', tags: [] },
  { id: 'smoke-b2-1', family: 'smoke-detector', building: 'B2', zone: 'stair-1', tags: [] },
  { id: 'smoke-b2-2', family: 'smoke-detector', building: 'B2', zone: 'stair-2', tags: [] },
  { id: 'gas-b2-102', family: 'gas-detector', building: 'B2', zone: 'kitchen-102', tags: [] },
  { id: 'gate-b1', family: 'access-gate', building: 'B1', zone: 'lobby', tags: [] },
  { id: 'gate-b2', family: 'access-gate', building: 'B2', zone: 'lobby', tags: [] },
  { id: 'gate-north', family: 'access-gate', building: 'B2', zone: 'north-exit', tags: ['exit'] },
  { id: 'siren-b1', family: 'io-module', building: 'B1', zone: 'lobby', tags: ['siren'] },
  { id: 'relay-b1', family: 'io-module', building: 'B1', zone: 'lobby', tags: [] },
  { id: 'siren-b2', family: 'io-module', building: 'B2', zone: 'lobby', tags: ['siren'] },
];
