import { describe, expect, it } from 'vitest';
import { invalidMessages, validator } from './ocpp-schemas.js';

const meter = (unit: string) => ({
  connectorId: 1,
  meterValue: [{ timestamp: '2026-01-01T00:00:00Z', sampledValue: [{ value: '21.5', measurand: 'Temperature', unit }] }],
});

describe('the OCA OCPP 1.6 JSON schemas (draft-04, unchanged)', () => {
  it('has a request and a response schema for every message the family exchanges', () => {
    for (const a of ['BootNotification', 'Heartbeat', 'StatusNotification', 'Authorize', 'StartTransaction', 'StopTransaction', 'MeterValues', 'RemoteStartTransaction', 'RemoteStopTransaction', 'ChangeAvailability', 'ChangeConfiguration', 'Reset'])
      for (const k of ['req', 'conf'] as const) expect(typeof validator(a, k)).toBe('function');
    expect(() => validator('Nonsense', 'req')).toThrow(/no OCPP 1.6 schema for Nonsense.req/);
  });

  it('holds the constraints of the OCA files: CiString20 vendor, the unit enum as the spec spells it', () => {
    const boot = (chargePointVendor: string) => ({ from: 'charge-point' as const, action: 'BootNotification', kind: 'req' as const, payload: { chargePointVendor, chargePointModel: 'M' } });
    expect(invalidMessages([boot('V'.repeat(20))])).toEqual([]);
    expect(invalidMessages([boot('V'.repeat(21))])).toEqual([expect.stringContaining('must NOT have more than 20 characters')]);
    const v = validator('MeterValues', 'req');
    expect(v(meter('Celcius'))).toBe(true);
    expect(v(meter('Celsius'))).toBe(false);
    expect(validator('StartTransaction', 'req')({ connectorId: 1, idTag: 'CARD-1', meterStart: 0, timestamp: 'yesterday' })).toBe(false);
  });
});
