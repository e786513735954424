import { describe, expect, it } from 'vitest';
import { type MeterValuesReq, meterReading } from './meter.js';

const at = '2026-11-30T10:00:00Z';
const mv = (sampledValue: MeterValuesReq['meterValue'][number]['sampledValue']): MeterValuesReq => ({
  connectorId: 1,
  meterValue: [{ timestamp: at, sampledValue }],
});

describe('meterReading', () => {
  it('reads energy, power and current in the units the charge point names', () => {
    expect(
      meterReading(
        mv([
          { value: '12.5', measurand: 'Energy.Active.Import.Register', unit: 'kWh' },
          { value: '7.2', measurand: 'Power.Active.Import', unit: 'kW' },
          { value: '31.3', measurand: 'Current.Import', unit: 'A' },
          { value: '230', measurand: 'Voltage', unit: 'V' },
        ]),
      ),
    ).toEqual({ timestamp: at, values: { energyWh: 12_500, powerW: 7200, currentA: 31.3 } });
  });

  it('takes a sample without measurand or unit as the energy register in Wh (OCPP 1.6 defaults)', () => {
    expect(meterReading(mv([{ value: '4200' }]))).toEqual({ timestamp: at, values: { energyWh: 4200 } });
  });

  it('adds up the phase currents of a three-phase charger', () => {
    const phases = ['L1', 'L2', 'L3'].map((phase) => ({ value: '16', measurand: 'Current.Import', unit: 'A', phase }));
    expect(meterReading(mv(phases))).toEqual({ timestamp: at, values: { currentA: 48 } });
  });

  it('reads the latest meter value of several', () => {
    const p: MeterValuesReq = {
      connectorId: 1,
      meterValue: [
        { timestamp: '2026-11-30T09:59:00Z', sampledValue: [{ value: '1' }] },
        { timestamp: at, sampledValue: [{ value: '2' }] },
      ],
    };
    expect(meterReading(p)).toEqual({ timestamp: at, values: { energyWh: 2 } });
  });

  it('says why a reading cannot be used', () => {
    expect(meterReading(mv([{ value: 'n/a', measurand: 'Power.Active.Import' }]))).toBe('Power.Active.Import value "n/a" is not a number');
    expect(meterReading(mv([{ value: '1', measurand: 'Power.Active.Import', unit: 'kvar' }]))).toMatch(/unit kvar of Power.Active.Import unknown \(known: Wh, kWh/);
    expect(meterReading({ connectorId: 1, meterValue: [] })).toBe('MeterValues with no meterValue');
  });
});
