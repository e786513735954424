/**
 * The Devices API over a real journal: availability with its reason, last contact, battery from
 * the last heartbeat, open faults and alarms, a device's events page by page, its readings over
 * 24 h per field (and per port), and the reader role.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alarm } from '../core/alarm-types.js';
import { indexChunk } from '../journal/device-index.js';
import { DeviceFacts, downsample } from './api-devices.js';
import { consoleClient } from './testing/console-client.js';
import { ADMIN, type DevicesConsole, devicesConsole, READER } from './testing/devices-console.js';

const HOUR = 3_600_000;

function alarm(id: string, device: string, triggerType: string): Alarm {
  const at = new Date().toISOString();
  return {
    id,
    rule: triggerType,
    subject: device,
    severity: 'major',
    message: `报警 ${device}`,
    state: 'raised',
    active: true,
    count: 1,
    latch: false,
    device: { id: device, family: 'x', tags: [] },
    devices: [device],
    trigger: { eventId: id, type: triggerType, receivedAt: at, data: {} },
    raisedAt: at,
    updatedAt: at,
    tier: 0,
    tierName: 'console',
    history: [],
  };
}

describe('console devices API', () => {
  let c: DevicesConsole;
  const now = Date.now();
  beforeAll(async () => {
    c = await devicesConsole({
      devices: [
        { id: 'gw-01', family: 'gateway', tags: [] },
        { id: 'gas-b1-101', family: 'gas-detector', building: 'B1', zone: 'kitchen-101', tags: ['kitchen'] },
        { id: 'smoke-b2-hall', family: 'smoke-detector', building: 'B2', zone: 'hall', tags: [] },
        { id: 'pile-b3', family: 'ebike-pile', building: 'B3', zone: 'shed', tags: [] },
      ],
      config: { 'gas-b1-101': { id: 'gas-b1-101', name: '101 厨房燃气', model: 'GT-100', unitId: 1 } },
    });
    c.append([
      { device: 'gas-b1-101', type: 'device.availability', data: { online: true }, at: now - 5 * HOUR },
      // two days ago: outside the chart's 24 h
      { device: 'gas-b1-101', type: 'gas.reading', kind: 'telemetry', data: { lel: 99, status: 'ok' }, at: now - 48 * HOUR },
      { device: 'gas-b1-101', type: 'gas.reading', kind: 'telemetry', data: { lel: 2, highAlarm: 50, status: 'ok' }, at: now - 3 * HOUR },
      { device: 'gas-b1-101', type: 'gas.reading', kind: 'telemetry', data: { lel: 12.5, highAlarm: 50, status: 'ok' }, at: now - 2 * HOUR },
      { device: 'gas-b1-101', type: 'gas.fault', kind: 'alarm', data: { faultCode: 3 }, at: now - HOUR },
      { device: 'smoke-b2-hall', type: 'device.heartbeat', kind: 'telemetry', data: { battery: 81, rssi: -90 }, at: now - 4 * HOUR },
      { device: 'smoke-b2-hall', type: 'device.heartbeat', kind: 'telemetry', data: { battery: 80, rssi: -91 }, at: now - 3 * HOUR },
      { device: 'smoke-b2-hall', type: 'device.availability', data: { online: false, reason: 'not heard from for 7200 s' }, at: now - HOUR },
      { device: 'pile-b3', type: 'pile.port.reading', kind: 'telemetry', data: { port: 1, current: 1.5 }, at: now - 2 * HOUR },
      { device: 'pile-b3', type: 'pile.port.reading', kind: 'telemetry', data: { port: 2, current: 3 }, at: now - 2 * HOUR },
    ]);
    c.alarms.push(alarm('a1', 'gas-b1-101', 'gas.fault'), alarm('a2', 'gas-b1-101', 'gas.alarm.high'));
  });
  afterAll(() => c?.close());

  it('lists every configured device (not the gateway) with availability, last contact, battery, faults and alarms', async () => {
    const r = consoleClient(c.url);
    expect((await r.call('GET', '/devices')).status).toBe(401);
    await r.login(READER.username, READER.password);
    const { status, body } = await r.call('GET', '/devices');
    expect(status).toBe(200);
    const byId = Object.fromEntries(body.devices.map((d: { id: string }) => [d.id, d]));
    expect(Object.keys(byId).sort()).toEqual(['gas-b1-101', 'pile-b3', 'smoke-b2-hall']);
    expect(byId['gas-b1-101']).toMatchObject({
      family: 'gas-detector',
      name: '101 厨房燃气',
      model: 'GT-100',
      building: 'B1',
      zone: 'kitchen-101',
      online: true,
      since: new Date(now - 5 * HOUR).toISOString(),
      lastSeen: new Date(now - HOUR).toISOString(),
      faults: 1,
      alarms: 1,
    });
    expect(byId['gas-b1-101'].battery).toBeUndefined();
    expect(byId['smoke-b2-hall']).toMatchObject({
      online: false,
      reason: 'not heard from for 7200 s',
      battery: 80,
      batteryAt: new Date(now - 3 * HOUR).toISOString(),
      lastSeen: new Date(now - 3 * HOUR).toISOString(),
      faults: 0,
      alarms: 0,
    });
    // Never reported availability: unknown, not offline.
    expect(byId['pile-b3'].online).toBeNull();
  });

  it('gives one device with its active alarms; an unknown device is a 404 that says where devices come from', async () => {
    const r = consoleClient(c.url);
    await r.login(ADMIN.username, ADMIN.password);
    const { body } = await r.call('GET', '/devices/gas-b1-101');
    expect(body.device.id).toBe('gas-b1-101');
    expect(body.alarms.map((a: Alarm) => a.id).sort()).toEqual(['a1', 'a2']);
    expect(body.alarms[0].history).toBeUndefined();
    const missing = await r.call('GET', '/devices/nope');
    expect(missing.status).toBe(404);
    expect(missing.body.error).toContain('drivers[].devices[].id');
    expect((await r.call('GET', '/devices/gw-01')).status).toBe(404);
  });

  it("pages a device's events newest first", async () => {
    const r = consoleClient(c.url);
    await r.login(READER.username, READER.password);
    const first = await r.call('GET', '/devices/gas-b1-101/events?limit=2');
    expect(first.body.events.map((e: { type: string }) => e.type)).toEqual(['gas.fault', 'gas.reading']);
    expect(first.body.next).toBe(first.body.events[1].seq);
    const second = await r.call('GET', `/devices/gas-b1-101/events?limit=2&before=${first.body.next}`);
    expect(second.body.events.map((e: { data: { lel?: number } }) => e.data.lel)).toEqual([2, 99]);
    const last = await r.call('GET', `/devices/gas-b1-101/events?limit=2&before=${second.body.next}`);
    expect(last.body.events.map((e: { type: string }) => e.type)).toEqual(['device.availability']);
    expect(last.body.next).toBeUndefined();
    expect((await r.call('GET', '/devices/gas-b1-101/events?limit=abc')).status).toBe(400);
  });

  it('gives the readings of the last 24 h: one series per numeric field of its telemetry, per port', async () => {
    const r = consoleClient(c.url);
    await r.login(READER.username, READER.password);
    const gas = await r.call('GET', '/devices/gas-b1-101/series');
    expect(gas.body.truncated).toBe(false);
    const series = Object.fromEntries(gas.body.series.map((s: { key: string; points: unknown }) => [s.key, s.points]));
    expect(series).toEqual({
      'gas.reading/lel': [
        [now - 3 * HOUR, 2],
        [now - 2 * HOUR, 12.5],
      ],
      'gas.reading/highAlarm': [
        [now - 3 * HOUR, 50],
        [now - 2 * HOUR, 50],
      ],
    });
    const pile = await r.call('GET', '/devices/pile-b3/series?hours=24');
    expect(pile.body.series).toEqual([
      { key: 'pile.port.reading/current/port=1', type: 'pile.port.reading', field: 'current', part: { key: 'port', value: 1 }, points: [[now - 2 * HOUR, 1.5]] },
      { key: 'pile.port.reading/current/port=2', type: 'pile.port.reading', field: 'current', part: { key: 'port', value: 2 }, points: [[now - 2 * HOUR, 3]] },
    ]);
    expect((await r.call('GET', '/devices/pile-b3/series?hours=9999')).status).toBe(400);
  });

  it('averages many readings down to one point per time slice', () => {
    const points: [number, number][] = Array.from({ length: 100 }, (_, i) => [i, i % 2 === 0 ? 0 : 10]);
    const down = downsample(points, 0, 100, 10);
    expect(down).toHaveLength(10);
    expect(down[0]).toEqual([5, 5]); // mean time 4.5 ms, rounded to the ms
    expect(downsample(points.slice(0, 5), 0, 100, 10)).toEqual(points.slice(0, 5));
  });
});

describe('console devices API queries', () => {
  it("lists each device's last contact from the device index and from the unindexed tail, as one device's page does", async () => {
    const devices = ['gas-a', 'gas-b', 'gas-c'].map((id) => ({ id, family: 'gas-detector', tags: [] }));
    const c = await devicesConsole({ devices });
    try {
      const t = Date.now();
      c.append([
        { device: 'gas-a', type: 'gas.reading', kind: 'telemetry', at: t - 5 * HOUR },
        { device: 'gas-b', type: 'gas.reading', kind: 'telemetry', at: t - 4 * HOUR },
      ]);
      while (indexChunk(c.journal.db) > 0);
      c.append([
        // Not contact: an alarm and an availability verdict.
        { device: 'gas-a', type: 'alarm.raised', at: t - HOUR },
        { device: 'gas-a', type: 'device.availability', data: { online: false }, at: t - HOUR },
        { device: 'gas-b', type: 'gas.reading', kind: 'telemetry', at: t - 2 * HOUR },
        { device: 'gas-c', type: 'gas.reading', kind: 'telemetry', at: t - 3 * HOUR },
      ]);
      expect(c.journal.db.prepare("SELECT value FROM idx.state WHERE key = 'upto'").pluck().get()).toBe(2);
      const facts = new DeviceFacts(c.journal.db, { db: c.journal.db, devices: () => new Map(devices.map((d) => [d.id, d])), activeAlarms: () => [] });
      const expected = { 'gas-a': t - 5 * HOUR, 'gas-b': t - 2 * HOUR, 'gas-c': t - 3 * HOUR };
      const iso = (o: Record<string, number>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, new Date(v).toISOString()]));
      expect(Object.fromEntries(facts.list().map((d) => [d.id, d.lastSeen]))).toEqual(iso(expected));
      // One device alone reads the same.
      expect(Object.fromEntries(devices.map((d) => [d.id, facts.row(d).lastSeen]))).toEqual(iso(expected));
    } finally {
      await c.close();
    }
  });

  it("read one device's events through the journal's device index, never a scan of the events table", async () => {
    const c = await devicesConsole({ devices: [] });
    try {
      const db = c.journal.db;
      const sources: string[] = [];
      const prepare = db.prepare.bind(db);
      db.prepare = ((sql: string) => (sources.push(sql), prepare(sql))) as typeof db.prepare;
      new DeviceFacts(db, { db, devices: () => new Map(), activeAlarms: () => [] });
      db.prepare = prepare;
      const perDevice = sources.filter((sql) => sql.includes('idx.by_device'));
      expect(perDevice).toHaveLength(5);
      for (const sql of perDevice) {
        const names = [...new Set(sql.match(/@\w+/g))].map((n) => n.slice(1));
        const params = Object.fromEntries(names.map((n) => [n, /^d\d+$|^type$/.test(n) ? 'x' : 1]));
        const plan = (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(params) as { detail: string }[]).map((r) => r.detail).join('; ');
        expect(plan).toMatch(/SEARCH idx\.by_device USING (COVERING INDEX by_device_type|PRIMARY KEY) \(device_id=\?/);
        expect(plan).not.toMatch(/SCAN (main\.)?events|SCAN idx\.by_device|TEMP B-TREE/);
      }
    } finally {
      await c.close();
    }
  });
});
