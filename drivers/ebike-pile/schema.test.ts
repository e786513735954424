/** Site config of the ebike-pile family: shipped model, site models, and clear errors for bad ones. */
import { describe, expect, it } from 'vitest';
import { EBIKE_MODELS, EbikePileConfig, portsOf } from './index.js';
import { conditions, normalisePort, type PortReading, portReadings } from './normalise.js';

const base = { family: 'ebike-pile', id: 'piles', transport: { type: 'tcp', port: 5020 } };
const messages = (input: unknown) => {
  const r = EbikePileConfig.safeParse(input);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

describe('ebike-pile config', () => {
  it('the shipped model has ten ports, each resolved on the device', () => {
    expect(portsOf(EBIKE_MODELS['generic-10port']!)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const cfg = EbikePileConfig.parse({ ...base, faultCodes: { 9: 'overtemperature' }, devices: [{ id: 'p1', unitId: 1 }] });
    expect(cfg.devices[0]!.map).toBe(EBIKE_MODELS['generic-10port']);
    expect(cfg.faultCodes).toEqual({ 1: 'overcurrent', 2: 'overtemperature', 3: 'fault', 9: 'overtemperature' });
  });

  it('names what is wrong: unknown model, duplicate unit, a site model missing a port field or with a bad state', () => {
    expect(messages({ ...base, devices: [{ id: 'p1', unitId: 1, model: 'nope' }, { id: 'p2', unitId: 1 }] })).toEqual([
      'devices.0.model: unknown model "nope"; known models: generic-10port (or describe it under models: of this driver)',
      'devices.1.unitId: unit id 1 is already used by devices[0] on this bus; every pile on one bus needs its own unit id',
    ]);
    const model = {
      blocks: { b: { table: 'holding', start: 0, length: 4 } },
      fields: { 'port1-state': { block: 'b', offset: 0, values: { 0: 'idle', 1: 'busy' } }, 'port1-current': { block: 'b', offset: 1 } },
    };
    const errs = messages({ ...base, models: { mine: model }, devices: [] });
    expect(errs).toContain('models.mine.fields.port1-state.values.1: "busy" is not a port state; use idle, charging, full, fault');
    expect(errs).toContain('models.mine.fields: port 1: missing field port1-energy');
    expect(errs).toContain('models.mine.fields: port 1: missing field port1-relay');
  });
});

describe('ebike-pile normalisation', () => {
  const policy = { deviceId: 'p1', reportIntervalMs: 60_000, overtemperatureC: 70, faultCodes: { 1: 'overcurrent', 2: 'overtemperature' } as const };
  const r = (o: Partial<PortReading>): PortReading => ({
    port: 1, state: 'idle', amps: 0, watts: 0, energyWh: 100, temperatureC: 25, limitAmps: 5, relayOn: true, faultCode: 0, ...o,
  });

  it('current above the limit is overcurrent even without a fault code; an unknown code is a fault', () => {
    expect(conditions(r({ amps: 6 }), policy)).toEqual(['overcurrent']);
    expect(conditions(r({ temperatureC: 70 }), policy)).toEqual(['overtemperature']);
    expect(conditions(r({ faultCode: 77, state: 'fault' }), policy)).toEqual(['fault']);
    expect(conditions(r({}), policy)).toEqual([]);
  });

  it('a relay cut while charging ends the session as cut, with the energy of the session', () => {
    const t = new Date(0);
    let m = normalisePort(undefined, r({ state: 'charging', amps: 3 }), t, policy).memory;
    const { events } = normalisePort(m, r({ state: 'idle', relayOn: false, energyWh: 130 }), t, policy);
    expect(events.find((e) => e.type === 'pile.session.stopped')?.data).toEqual({ port: 1, energyWh: 30, reason: 'cut' });
    m = normalisePort(m, r({ state: 'charging', amps: 3 }), t, policy).memory;
    expect(normalisePort(m, r({ state: 'charging', amps: 3 }), new Date(1000), policy).events).toEqual([]);
  });

  it('a reading with a negative current is refused with the port named', () => {
    const v = { 'port1-state': 'charging', 'port1-current': -1, 'port1-power': 0, 'port1-energy': 0, 'port1-temperature': 25, 'port1-fault': 0, 'port1-limit': 5, 'port1-relay': true };
    expect(portReadings(v, [1])).toBe('port 1: current, power, energy and limit must not be negative');
    expect(portReadings({ ...v, 'port1-current': 1 }, [1])).toMatchObject([{ port: 1, amps: 1, state: 'charging' }]);
  });
});
