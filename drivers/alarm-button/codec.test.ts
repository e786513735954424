import { describe, expect, it } from 'vitest';
import { Codec, mapEvents } from '../lorawan/index.js';
import { BUTTON_MODELS } from './models.js';

const model = BUTTON_MODELS['generic-sos-button'];
const codec = Codec.fromFile(model.codec);
const decode = (hex: string, fPort = 12) =>
  codec.decode({ bytes: [...Buffer.from(hex, 'hex')], fPort, recvTime: new Date('2026-03-01T00:00:00Z') });

const FIXTURES: [string, Record<string, unknown>][] = [
  ['01640007', { event: 'heartbeat', battery: 100, batteryLow: false, presses: 7 }],
  ['10500008', { event: 'press', battery: 80, batteryLow: false, presses: 8 }],
  ['11500009', { event: 'long-press', battery: 80, batteryLow: false, presses: 9 }],
  ['120f010a', { event: 'cancel', battery: 15, batteryLow: true, presses: 10 }],
];

const BAD: [string, number, string][] = [
  ['', 12, 'payload too short: 0 bytes, 4 expected'],
  ['105000', 12, 'payload too short: 3 bytes, 4 expected'],
  ['20500000', 12, 'unknown frame type 0x20'],
  ['10ff0000', 12, 'battery 255 % is out of range 0..100'],
  ['10500008', 10, 'unexpected fPort 10 (the button sends on 12)'],
];

describe('generic-sos-button codec', () => {
  it.each(FIXTURES)('decodes %s', (hex, data) => {
    expect(decode(hex)).toEqual({ ok: true, output: { data, warnings: [], errors: [] } });
  });

  it.each(BAD)('refuses %s on fPort %i', (hex, fPort, error) => {
    expect(decode(hex, fPort)).toEqual({ ok: true, output: { data: {}, warnings: [], errors: [error] } });
  });

  it('the model table: a press is button.pressed with the press counter', () => {
    const r = decode('10500008');
    if (!r.ok) throw new Error(r.message);
    expect(mapEvents(model.events, r.output.data, { fCnt: 1, fPort: 12, gateways: 1 }, []).events).toEqual([
      { row: 0, event: 'button.pressed', data: { presses: 8 } },
    ]);
  });
});
