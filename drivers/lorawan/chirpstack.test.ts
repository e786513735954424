import { describe, expect, it } from 'vitest';
import { parseEvent } from './chirpstack.js';
import { FrameCounters } from './frame-counter.js';

const APP = '3a5e8f9c-0b7d-4e21-9c4f-1d2e3f4a5b6c';
const EUI = '70b3d57ed0001001';
const topic = (event: string, eui = EUI) => `application/${APP}/device/${eui}/event/${event}`;
const json = (v: unknown) => Buffer.from(JSON.stringify(v));

describe('ChirpStack v4 event parsing', () => {
  it('an up event: bytes from base64, the best gateway of rxInfo, fields ChirpStack leaves out read as defaults', () => {
    const r = parseEvent(
      topic('up'),
      json({
        time: '2026-03-01T08:00:00.123+08:00',
        deviceInfo: { devEui: EUI.toUpperCase(), deviceName: 'smoke-1', applicationId: APP, tenantName: 'x' },
        fCnt: 42,
        fPort: 10,
        data: 'AlgB',
        rxInfo: [
          { gatewayId: 'a', rssi: -110, snr: -3 },
          { gatewayId: 'b', rssi: -80, snr: 9 },
        ],
      }),
    );
    expect(r).toEqual({
      ok: true,
      msg: {
        type: 'up',
        devEui: EUI,
        applicationId: APP,
        time: new Date('2026-03-01T00:00:00.123Z'),
        fCnt: 42,
        fPort: 10,
        bytes: Buffer.from([2, 0x58, 1]),
        gateways: 2,
        rssi: -80,
        snr: 9,
        gatewayId: 'b',
      },
    });
    expect(parseEvent(topic('up'), json({ deviceInfo: { devEui: EUI } }))).toMatchObject({
      ok: true,
      msg: { fCnt: 0, fPort: 0, bytes: Buffer.alloc(0), gateways: 0 },
    });
  });

  it('join and status events; a battery ChirpStack cannot know is left out', () => {
    expect(parseEvent(topic('join'), json({ deviceInfo: { devEui: EUI }, devAddr: '01aa0001' }))).toEqual({
      ok: true,
      msg: { type: 'join', devEui: EUI, applicationId: APP },
    });
    expect(parseEvent(topic('status'), json({ deviceInfo: { devEui: EUI }, margin: 7, batteryLevel: 81.5 }))).toMatchObject({
      ok: true,
      msg: { type: 'status', battery: 81.5, margin: 7 },
    });
    const unknown = parseEvent(topic('status'), json({ deviceInfo: { devEui: EUI }, batteryLevelUnavailable: true, batteryLevel: 0 }));
    expect(unknown.ok && 'battery' in unknown.msg).toBe(false);
  });

  it('says what is wrong with anything else', () => {
    const why = (t: string, body: Buffer) => {
      const r = parseEvent(t, body);
      return r.ok ? 'parsed' : r.why;
    };
    expect(why('dev/x/up', json({}))).toBe('topic dev/x/up is not application/<app>/device/<devEui>/event/<event>');
    expect(why(topic('up'), Buffer.from('{'))).toBe(
      "up event is not JSON (enable json=true in ChirpStack's [integration.mqtt])",
    );
    expect(why(topic('ack'), json({}))).toBe('event "ack" is not one of up, join, status');
    expect(why(topic('up'), json({ deviceInfo: { devEui: EUI }, data: 'not base64!' }))).toBe('up event: data: base64');
    expect(why(topic('up'), json({ fCnt: 1 }))).toMatch(/^up event: deviceInfo: /);
    expect(why(topic('up', '70b3d57ed0009999'), json({ deviceInfo: { devEui: EUI } }))).toBe(
      `deviceInfo.devEui ${EUI} differs from the topic's 70b3d57ed0009999`,
    );
  });
});

describe('frame counters', () => {
  const store = () => {
    const m = new Map<string, unknown>();
    return {
      get: <T>(k: string) => m.get(k) as T | undefined,
      set: (k: string, v: unknown) => void m.set(k, structuredClone(v)),
      delete: (k: string) => void m.delete(k),
      entries: () => [],
    };
  };

  it('new, duplicate, late, reset, and a join starting again', () => {
    const c = new FrameCounters(store(), 16);
    expect([5, 6, 6, 9, 7, 7, 8, 9].map((f) => c.check('d', f))).toEqual([
      'new',
      'new',
      'duplicate',
      'new',
      'late',
      'duplicate',
      'late',
      'duplicate',
    ]);
    expect(c.check('d', 0)).toBe('reset');
    expect(c.check('d', 1)).toBe('new');
    expect(c.check('d', 500)).toBe('new');
    expect(c.check('d', 100)).toBe('reset');
    expect(c.check('other', 100)).toBe('new');
    c.reset('d');
    expect(c.check('d', 100)).toBe('new');
  });
});
