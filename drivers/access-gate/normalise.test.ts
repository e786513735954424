import { describe, expect, it } from 'vitest';
import { codeTable, EventCode } from './event-codes.js';
import { GATE_EVENTS } from './events.js';
import { type AcsRecord, fromPush, fromSearch, normalise } from './normalise.js';
import { AccessGateConfig } from './schema.js';

const table = codeTable();
const rec = (major: number, minor: number, extra: Partial<AcsRecord> = {}): AcsRecord => ({ major, minor, serialNo: 7, time: '2026-05-01T08:00:00+08:00', ...extra });

describe('normalise', () => {
  it('turns each code into its event, with data that passes the family spec', () => {
    const cases: [AcsRecord, string, Record<string, unknown>][] = [
      [rec(5, 0x4b, { employeeNo: '1001', name: '张伟', door: 2 }), 'access.granted', { door: 2, method: 'face', employeeNo: '1001', name: '张伟' }],
      [rec(5, 0x01, { cardNo: '300' }), 'access.granted', { door: 1, method: 'card', cardNo: '300' }],
      [rec(3, 0x400), 'access.granted', { method: 'remote' }],
      [rec(5, 0x09, { cardNo: '999' }), 'access.denied', { method: 'card', reason: 'unknown-card' }],
      [rec(5, 0x4c), 'access.denied', { method: 'face', reason: 'face-mismatch' }],
      [rec(5, 0x50), 'access.stranger', { door: 1 }],
      [rec(5, 0x1b), 'door.forced', { door: 1 }],
      [rec(5, 0x1c), 'door.held-open', { door: 1 }],
      [rec(5, 0x13), 'door.state', { state: 'always-open' }],
      [rec(5, 0x1a), 'door.state', { state: 'closed' }],
      [rec(1, 0x404), 'gate.tamper', {}],
    ];
    for (const [r, type, data] of cases) {
      const [e, ...rest] = normalise(r, table, { pictureRef: 'gates/p.jpg' });
      expect(rest).toEqual([]);
      expect(e).toMatchObject({ type, data: { serialNo: 7, ...data } });
      expect(e!.deviceTime?.toISOString()).toBe('2026-05-01T00:00:00.000Z');
      expect(GATE_EVENTS[e!.type].data.safeParse(e!.data).success).toBe(true);
      expect(GATE_EVENTS[e!.type].kind).toBe(e!.kind);
    }
  });

  it('adds the temperature of a face verification, abnormal as an alarm too; historical when searched', () => {
    const events = normalise(rec(5, 0x4b, { celsius: 38.1, abnormalTemperature: true, mask: 'no' }), table, { historical: true });
    expect(events.map((e) => [e.type, e.kind, e.severity])).toEqual([
      ['access.granted', 'event', 'info'],
      ['gate.temperature', 'event', 'info'],
      ['gate.temperature.abnormal', 'alarm', 'warning'],
    ]);
    expect(events[1]!.data).toEqual({ celsius: 38.1, abnormal: true, mask: false, serialNo: 7, historical: true });
    expect(normalise(rec(5, 0x4b, { celsius: 36.4 }), table).map((e) => e.type)).toEqual(['access.granted', 'gate.temperature']);
  });

  it('ignores a code it does not know; a site entry adds or replaces one', () => {
    expect(normalise(rec(2, 0x27), table)).toEqual([]);
    const site = codeTable([
      EventCode.parse({ major: 2, minor: 0x27, type: 'gate.tamper', description: 'network broken, on this model the case switch' }),
      EventCode.parse({ major: 5, minor: 0x4b, type: 'access.granted', method: 'fingerprint' }),
    ]);
    expect(normalise(rec(2, 0x27), site).map((e) => e.type)).toEqual(['gate.tamper']);
    expect(normalise(rec(5, 0x4b), site)[0]!.data.method).toBe('fingerprint');
  });

  it('reads pushed and searched records alike', () => {
    const pushed = fromPush({
      eventType: 'AccessControllerEvent',
      dateTime: '2026-05-01T08:00:00+08:00',
      AccessControllerEvent: { majorEventType: 5, subEventType: 75, serialNo: 9, employeeNoString: '1', doorNo: 1, cardNo: '', currTemperature: 36.5 },
    });
    const searched = fromSearch({ major: 5, minor: 75, serialNo: 9, time: '2026-05-01T08:00:00+08:00', employeeNoString: '1', doorNo: 1, currTemperature: 36.5 });
    expect(pushed).toEqual(searched);
    expect(pushed).not.toHaveProperty('cardNo');
  });
});

describe('site file entries', () => {
  const base = {
    id: 'gates',
    family: 'access-gate',
    listen: { port: 8092 },
    devices: [{ id: 'g1', url: 'http://192.168.10.21', api: { username: 'admin', password: 'x' }, push: { username: 'g1', passwordFile: '/etc/cg/g1' } }],
  };
  const issues = (c: unknown) => {
    const r = AccessGateConfig.safeParse(c);
    return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };

  it('accepts a terminal with defaults', () => {
    const c = AccessGateConfig.parse(base);
    expect(c).toMatchObject({ pollIntervalMs: 30_000, requestTimeoutMs: 5000, eventCodes: [], catchUp: { pageSize: 30 } });
    expect(c.devices[0]!.doors).toBe(1);
  });

  it('says what is wrong: an event code without its method, a shared push account, a password given twice, a URL with a path', () => {
    expect(issues({ ...base, eventCodes: [{ major: 5, minor: 1, type: 'access.granted' }] })).toEqual([
      'eventCodes.0.method: access.granted and access.denied codes need a method (face, card, fingerprint, password, remote)',
    ]);
    expect(issues({ ...base, eventCodes: [{ major: 5, minor: 1, type: 'door.state' }] })[0]).toMatch(/need a state/);
    const twin = { ...base.devices[0]!, id: 'g2' };
    expect(issues({ ...base, devices: [base.devices[0], twin] })).toEqual([
      `devices.1.push.username: push username "g1" is also g1's: each terminal pushes with its own account`,
    ]);
    const both = { ...base.devices[0]!, api: { username: 'a', password: 'x', passwordFile: '/f' } };
    expect(issues({ ...base, devices: [both] })).toEqual(['devices.0.api.password: give either password or passwordFile (one of them)']);
    expect(issues({ ...base, devices: [{ ...base.devices[0]!, url: 'http://10.0.0.1/ISAPI' }] })[0]).toMatch(/^devices.0.url: http:/);
  });
});
