/**
 * MeterValues (OCPP 1.6 §7.31 SampledValue) to the values of an `ev.meter` event. Units and
 * measurands are data: a site or model with other ones extends these tables.
 */
export interface MeterValuesReq {
  connectorId: number;
  transactionId?: number;
  meterValue: { timestamp: string; sampledValue: { value: string; measurand?: string; unit?: string; phase?: string; context?: string }[] }[];
}

/** Measurand → event field; a measurand not listed is ignored. */
export const MEASURANDS: Record<string, 'energyWh' | 'powerW' | 'currentA'> = {
  'Energy.Active.Import.Register': 'energyWh',
  'Power.Active.Import': 'powerW',
  'Current.Import': 'currentA',
};

/** Unit → factor to the event field's unit (Wh, W, A). */
export const UNIT_FACTORS: Record<string, number> = { Wh: 1, kWh: 1000, W: 1, kW: 1000, A: 1 };

/** The default unit of each measurand when the sample names none (OCPP 1.6: Wh for energy). */
const DEFAULT_UNIT: Record<string, string> = { energyWh: 'Wh', powerW: 'W', currentA: 'A' };

/** The latest meter value's readings, or why it cannot be read. Per-phase currents are summed. */
export function meterReading(p: MeterValuesReq): { timestamp: string; values: Record<string, number> } | string {
  const last = p.meterValue.at(-1);
  if (!last) return 'MeterValues with no meterValue';
  const values: Record<string, number> = {};
  for (const s of last.sampledValue) {
    const field = MEASURANDS[s.measurand ?? 'Energy.Active.Import.Register'];
    if (!field) continue;
    const unit = s.unit ?? DEFAULT_UNIT[field]!;
    const factor = UNIT_FACTORS[unit];
    const n = Number(s.value);
    if (factor === undefined) return `unit ${unit} of ${s.measurand ?? 'energy'} unknown (known: ${Object.keys(UNIT_FACTORS).join(', ')})`;
    if (s.value.trim() === '' || !Number.isFinite(n)) return `${s.measurand ?? 'energy'} value "${s.value}" is not a number`;
    // Phase samples of a current add up; a line-to-neutral sample of power or energy likewise.
    values[field] = (s.phase && values[field] !== undefined ? values[field] : 0) + n * factor;
  }
  return { timestamp: last.timestamp, values };
}
