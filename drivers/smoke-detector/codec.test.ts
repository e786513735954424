import { describe, expect, it } from 'vitest';
import { Codec, mapEvents } from '../lorawan/index.js';
import { SMOKE_MODELS } from './models.js';

const model = SMOKE_MODELS['generic-smoke'];
const codec = Codec.fromFile(model.codec);
const decode = (hex: string, fPort = 10) =>
  codec.decode({ bytes: [...Buffer.from(hex, 'hex')], fPort, recvTime: new Date('2026-03-01T00:00:00Z') });

/** bytes (hex) -> the codec's data, for every frame type of the generic smoke detector. */
const FIXTURES: [string, Record<string, unknown>][] = [
  ['015a0016', { event: 'heartbeat', battery: 90, smoke: false, batteryLow: false, tamper: false, fault: false, temperature: 22 }],
  ['010a02fb', { event: 'heartbeat', battery: 10, smoke: false, batteryLow: true, tamper: false, fault: false, temperature: -5 }],
  ['025801', { event: 'alarm', battery: 88, smoke: true, batteryLow: false, tamper: false, fault: false }],
  ['035800', { event: 'alarm-cleared', battery: 88, smoke: false, batteryLow: false, tamper: false, fault: false }],
  ['045801', { event: 'silenced', battery: 88, smoke: true, batteryLow: false, tamper: false, fault: false }],
  ['05ff00', { event: 'test', smoke: false, batteryLow: false, tamper: false, fault: false }],
  ['06500801', { event: 'fault', battery: 80, smoke: false, batteryLow: false, tamper: false, fault: true, faultCode: 1, faultName: 'smoke-chamber-dirty' }],
  ['06500809', { event: 'fault', battery: 80, smoke: false, batteryLow: false, tamper: false, fault: true, faultCode: 9, faultName: 'unknown' }],
  ['075004', { event: 'tamper', battery: 80, smoke: false, batteryLow: false, tamper: true, fault: false }],
];

/** Truncated and garbage payloads: the codec's errors. */
const BAD: [string, number, string][] = [
  ['', 10, 'payload too short: 0 bytes, at least 3 expected'],
  ['0250', 10, 'payload too short: 2 bytes, at least 3 expected'],
  ['015a00', 10, 'payload too short for a heartbeat frame: 3 bytes, 4 expected'],
  ['065008', 10, 'payload too short for a fault frame: 3 bytes, 4 expected'],
  ['ff1234', 10, 'unknown frame type 0xff'],
  ['02c801', 10, 'battery 200 % is out of range 0..100'],
  ['025801', 2, 'unexpected fPort 2 (the detector sends on 10)'],
];

describe('generic-smoke codec', () => {
  it.each(FIXTURES)('decodes %s', (hex, data) => {
    expect(decode(hex)).toEqual({ ok: true, output: { data, warnings: [], errors: [] } });
  });

  it.each(BAD)('refuses %s on fPort %i', (hex, fPort, error) => {
    expect(decode(hex, fPort)).toEqual({ ok: true, output: { data: {}, warnings: [], errors: [error] } });
  });

  it('warns about trailing bytes', () => {
    expect(decode('0258010000')).toMatchObject({ ok: true, output: { warnings: ['2 trailing bytes ignored'], errors: [] } });
  });

  it('garbage of every length never throws: it decodes or says why not', () => {
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % 256;
    for (let n = 0; n < 300; n++) {
      const bytes = Array.from({ length: n % 12 }, next);
      const r = codec.decode({ bytes, fPort: 10, recvTime: new Date() });
      expect(r.ok).toBe(true);
      if (r.ok) expect(r.output.errors.length > 0 || typeof r.output.data.event === 'string').toBe(true);
    }
  });

  it('the model table turns frames into the family events, battery-low once while the flag stays on', () => {
    const meta = { rssi: -97, snr: 6.5, fCnt: 3, fPort: 10, gateways: 1 };
    const data = (hex: string) => {
      const r = decode(hex);
      if (!r.ok) throw new Error(r.message);
      return r.output.data;
    };
    expect(mapEvents(model.events, data('025801'), meta, []).events).toEqual([
      { row: 0, event: 'smoke.alarm', data: { battery: 88 } },
    ]);
    expect(mapEvents(model.events, data('06500803'), meta, []).events).toEqual([
      { row: 4, event: 'smoke.fault', data: { code: 3, reason: 'sensor' } },
    ]);
    const low = mapEvents(model.events, data('010a02fb'), meta, []);
    expect(low.events.map((e) => [e.event, e.data])).toEqual([
      ['device.heartbeat', { battery: 10, rssi: -97, snr: 6.5 }],
      ['device.battery-low', { percent: 10 }],
    ]);
    expect(mapEvents(model.events, data('010902fb'), meta, low.held).events.map((e) => e.event)).toEqual([
      'device.heartbeat',
    ]);
    expect(mapEvents(model.events, data('015a0016'), meta, low.held).held).toEqual([]);
  });
});
