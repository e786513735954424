import { describe, expect, it } from 'vitest';
import { GAS_MODELS, GasModel } from './models.js';
import { type GasState, normalise, type ReportPolicy } from './normalise.js';

const MAP = GAS_MODELS['generic-lel']!;
const POLICY: ReportPolicy = { deviceId: 'gas-1', lelDeadband: 1, reportIntervalMs: 60_000 };
const T0 = new Date('2026-01-01T00:00:00Z');
const at = (ms: number) => new Date(T0.getTime() + ms);

// generic-lel fixtures: [lel ×0.1 %LEL, status, low ×0.1, high ×0.1, fault code]
const NORMAL_5 = [50, 0, 200, 500, 0];
const LOW_25 = [250, 1, 200, 500, 0];
const HIGH_60 = [600, 2, 200, 500, 0];
const FAULT_7 = [0, 3, 200, 500, 7];

/** Feeds fixtures in order, one second apart; returns the event types of each step. */
function run(...steps: number[][]): { types: string[][]; state: GasState | undefined } {
  let state: GasState | undefined;
  const types = steps.map((words, i) => {
    const r = normalise(state, words, MAP, at(i * 1000), POLICY);
    if (!r.ok) throw new Error(r.reason);
    state = r.state;
    return r.events.map((e) => e.type);
  });
  return { types, state };
}

function ok(prev: GasState | undefined, words: number[], now = T0, policy = POLICY) {
  const r = normalise(prev, words, MAP, now, policy);
  if (!r.ok) throw new Error(r.reason);
  return r;
}

describe('normalise (generic-lel)', () => {
  it('reports the first reading with scaled values, receivedAt = now, no status event when normal', () => {
    const r = ok(undefined, [123, 0, 200, 500, 0]);
    expect(r.events).toEqual([
      {
        deviceId: 'gas-1',
        type: 'gas.reading',
        kind: 'telemetry',
        severity: 'info',
        deviceTime: null,
        receivedAt: T0,
        data: { lel: 12.3, lowThreshold: 20, highThreshold: 50, status: 'normal' },
      },
    ]);
    expect(r.state).toMatchObject({ lel: 12.3, status: 'normal', faultCode: 0, reportedLel: 12.3 });
  });

  it('raises an alarm already present at the first reading (e.g. after a gateway restart)', () => {
    expect(run(HIGH_60).types).toEqual([['gas.alarm.high', 'gas.reading']]);
  });

  it('normal -> low -> high -> low -> normal: one status event per change, with kind and severity', () => {
    const { types } = run(NORMAL_5, LOW_25, HIGH_60, HIGH_60, LOW_25, NORMAL_5, NORMAL_5);
    expect(types).toEqual([
      ['gas.reading'],
      ['gas.alarm.low', 'gas.reading'],
      ['gas.alarm.high', 'gas.reading'],
      [],
      ['gas.alarm.low', 'gas.reading'],
      ['gas.normal', 'gas.reading'],
      [],
    ]);
    const low = ok(ok(undefined, NORMAL_5).state, LOW_25).events[0];
    expect(low).toMatchObject({ kind: 'alarm', severity: 'major', data: { lel: 25, status: 'low' } });
    const high = ok(ok(undefined, NORMAL_5).state, HIGH_60).events[0];
    expect(high).toMatchObject({ kind: 'alarm', severity: 'critical', data: { lel: 60, status: 'high' } });
    const normal = ok(ok(undefined, HIGH_60).state, NORMAL_5).events[0];
    expect(normal).toMatchObject({ type: 'gas.normal', kind: 'event', severity: 'info' });
  });

  it('fault: gas.fault with its code, again on a new code, gas.fault.cleared (not gas.normal) when it clears', () => {
    const { types } = run(NORMAL_5, FAULT_7, FAULT_7, [0, 3, 200, 500, 9], NORMAL_5);
    expect(types).toEqual([
      ['gas.reading'],
      ['gas.fault', 'gas.reading'],
      [],
      ['gas.fault'],
      ['gas.fault.cleared', 'gas.reading'],
    ]);
    const fault = ok(ok(undefined, NORMAL_5).state, FAULT_7).events[0];
    expect(fault).toMatchObject({
      type: 'gas.fault',
      kind: 'alarm',
      severity: 'major',
      data: { faultCode: 7 },
    });
    const cleared = ok(ok(undefined, FAULT_7).state, NORMAL_5).events[0];
    expect(cleared).toMatchObject({ type: 'gas.fault.cleared', kind: 'event', severity: 'info' });
  });

  it('fault -> alarm clears the fault and raises the alarm', () => {
    expect(run(FAULT_7, HIGH_60).types[1]).toEqual(['gas.fault.cleared', 'gas.alarm.high', 'gas.reading']);
  });

  it('keeps a fault whose level register is garbage, with lel null', () => {
    const r = ok(undefined, [0xffff, 3, 200, 500, 12]);
    expect(r.events.map((e) => [e.type, e.data.lel])).toEqual([
      ['gas.fault', null],
      ['gas.reading', null],
    ]);
  });

  it('reports a level change beyond the deadband at once, and drift once it adds up', () => {
    const first = ok(undefined, [100, 0, 200, 500, 0]); // 10.0
    const small = ok(first.state, [105, 0, 200, 500, 0], at(1000)); // 10.5: within 1.0
    expect(small.events).toEqual([]);
    const drift = ok(small.state, [111, 0, 200, 500, 0], at(2000)); // 11.1: 1.1 from the last report
    expect(drift.events.map((e) => [e.type, e.data.lel])).toEqual([['gas.reading', 11.1]]);
    const down = ok(drift.state, [95, 0, 200, 500, 0], at(3000)); // 9.5
    expect(down.events.map((e) => e.type)).toEqual(['gas.reading']);
  });

  it('repeats gas.reading every reportIntervalMs when nothing changes, and on a threshold change', () => {
    const first = ok(undefined, NORMAL_5);
    expect(ok(first.state, NORMAL_5, at(59_999)).events).toEqual([]);
    const due = ok(first.state, NORMAL_5, at(60_000));
    expect(due.events.map((e) => e.type)).toEqual(['gas.reading']);
    expect(ok(due.state, NORMAL_5, at(61_000)).events).toEqual([]);
    expect(ok(due.state, [50, 0, 150, 500, 0], at(61_000)).events.map((e) => e.type)).toEqual([
      'gas.reading',
    ]);
  });

  it.each([
    ['an unknown status value', [50, 7, 200, 500, 0], /field status: raw value 7 is not one of the listed values \(0, 1, 2, 3\)/],
    ['a level above 100 %LEL', [1001, 0, 200, 500, 0], /lel: level above 100 %LEL/],
    ['thresholds the wrong way round', [50, 0, 500, 200, 0], /low alarm threshold must be below the high/],
    ['equal thresholds', [50, 0, 300, 300, 0], /low alarm threshold must be below the high/],
    ['a zero low threshold', [50, 0, 0, 500, 0], /lowThreshold: low alarm threshold must be above 0/],
    ['too few registers', [50, 0, 200], /expected 5 registers, got 3/],
    ['words that are not 16-bit integers', [50, 0, 200.5, 500, 0], /integers 0\.\.65535/],
  ])('rejects %s with a reason and keeps no state', (_name, words, reason) => {
    const r = normalise(undefined, words, MAP, T0, POLICY);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(reason);
  });

  it('decodes another vendor map: input registers, other offsets, scales and status values', () => {
    const acme = GasModel.parse({
      blocks: { main: { table: 'input', start: 100, length: 6 } },
      fields: {
        status: { block: 'main', offset: 0, values: { 16: 'normal', 17: 'low', 18: 'high', 31: 'fault' } },
        lel: { block: 'main', offset: 2, scale: 0.01 },
        lowThreshold: { block: 'main', offset: 3 },
        highThreshold: { block: 'main', offset: 4 },
        faultCode: { block: 'main', offset: 5 },
      },
    });
    const r = normalise(undefined, [18, 0, 5525, 10, 40, 0], acme, T0, POLICY);
    expect(r.ok && r.events.map((e) => [e.type, e.data])).toEqual([
      ['gas.alarm.high', { lel: 55.25, lowThreshold: 10, highThreshold: 40, status: 'high' }],
      ['gas.reading', { lel: 55.25, lowThreshold: 10, highThreshold: 40, status: 'high' }],
    ]);
  });

  it('refuses a map whose fields lie outside its block', () => {
    const bad = { ...MAP, blocks: { main: { table: 'holding', start: 0, length: 3 } } };
    expect(GasModel.safeParse(bad).error?.issues.map((i) => i.path.join('.'))).toEqual([
      'fields.highThreshold.offset',
      'fields.faultCode.offset',
    ]);
  });
});
