/**
 * The Events API over a real journal: filters (time range, type prefix, device, building), newest
 * first, paging; personal data as the site's privacy setting for duty staff, in full for admins;
 * the CSV export (BOM, header, escaping of commas, quotes and line breaks, local time, the row cap).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { csvField, localTime } from './api-events.js';
import { consoleClient } from './testing/console-client.js';
import { ADMIN, type DevicesConsole, devicesConsole, READER } from './testing/devices-console.js';

const MIN = 60_000;

describe('console events API', () => {
  let c: DevicesConsole;
  const now = Date.now();
  beforeAll(async () => {
    c = await devicesConsole({
      devices: [
        { id: 'gas-b1-101', family: 'gas-detector', building: 'B1', zone: 'kitchen-101', tags: [] },
        { id: 'gas-b2-201', family: 'gas-detector', building: 'B2', zone: 'kitchen-201', tags: [] },
        { id: 'gate-b1', family: 'access-gate', building: 'B1', zone: '北门', tags: [] },
      ],
      csvMaxRows: 4,
    });
    c.append([
      { device: 'gas-b1-101', type: 'gas.reading', kind: 'telemetry', data: { lel: 1 }, at: now - 30 * 60 * MIN },
      { device: 'gas-b1-101', type: 'gas.alarm.high', kind: 'alarm', severity: 'critical', data: { lel: 60 }, at: now - 50 * MIN },
      { device: 'gas-b2-201', type: 'gas.reading', kind: 'telemetry', data: { lel: 3 }, at: now - 40 * MIN },
      { device: 'gate-b1', type: 'access.granted', data: { cardNo: '1234567890', name: '张三', door: 1 }, at: now - 30 * MIN },
      { device: 'gate-b1', type: 'door.state', data: { note: 'a, "quoted"\nline', door: 1 }, at: now - 20 * MIN },
      { device: 'gas-b1-101', type: 'gasoline.test', data: { formula: '=1+1' }, at: now - 10 * MIN },
    ]);
  });
  afterAll(() => c?.close());

  const types = (body: { events: { type: string }[] }) => body.events.map((e) => e.type);

  it('filters by time, type prefix, device and building, newest first (default: the last 24 h)', async () => {
    const r = consoleClient(c.url);
    expect((await r.call('GET', '/events')).status).toBe(401);
    await r.login(READER.username, READER.password);
    const all = await r.call('GET', '/events');
    expect(types(all.body)).toEqual(['gasoline.test', 'door.state', 'access.granted', 'gas.reading', 'gas.alarm.high']);
    // `gas` is gas.* and gas itself, not gasoline.*
    expect(types((await r.call('GET', '/events?type=gas')).body)).toEqual(['gas.reading', 'gas.alarm.high']);
    expect(types((await r.call('GET', '/events?type=gas.alarm')).body)).toEqual(['gas.alarm.high']);
    expect(types((await r.call('GET', '/events?device=gate-b1')).body)).toEqual(['door.state', 'access.granted']);
    expect(types((await r.call('GET', '/events?building=B1&type=gas')).body)).toEqual(['gas.alarm.high']);
    expect(types((await r.call('GET', '/events?building=B9')).body)).toEqual([]);
    const since = new Date(now - 45 * MIN).toISOString();
    expect(types((await r.call('GET', `/events?since=${since}&until=${now - 15 * MIN}`)).body)).toEqual(['door.state', 'access.granted', 'gas.reading']);
    expect(types((await r.call('GET', `/events?since=${now - 2 * 86_400_000}&type=gas.reading`)).body)).toEqual(['gas.reading', 'gas.reading']);
  });

  it('pages with next/before and refuses bad parameters with what to give', async () => {
    const r = consoleClient(c.url);
    await r.login(READER.username, READER.password);
    const p1 = await r.call('GET', '/events?limit=2');
    expect(types(p1.body)).toEqual(['gasoline.test', 'door.state']);
    const p2 = await r.call('GET', `/events?limit=2&before=${p1.body.next}`);
    expect(types(p2.body)).toEqual(['access.granted', 'gas.reading']);
    const p3 = await r.call('GET', `/events?limit=2&before=${p2.body.next}`);
    expect(types(p3.body)).toEqual(['gas.alarm.high']);
    expect(p3.body.next).toBeUndefined();
    const bad = await r.call('GET', '/events?since=yesterday');
    expect(bad.status).toBe(400);
    expect(bad.body.error).toContain('ISO time');
    expect((await r.call('GET', '/events?type=GAS%25')).status).toBe(400);
    expect((await r.call('GET', `/events?since=${now}&until=${now - 1}`)).status).toBe(400);
  });

  it('shows personal data to duty staff as the site sends it to the city (masked by default), to admins in full', async () => {
    const reader = consoleClient(c.url);
    await reader.login(READER.username, READER.password);
    const seen = (await reader.call('GET', '/events?type=access')).body.events[0].data;
    expect(seen).toEqual({ cardNo: '1****0', name: '张*', door: 1 });
    const admin = consoleClient(c.url);
    await admin.login(ADMIN.username, ADMIN.password);
    expect((await admin.call('GET', '/events?type=access')).body.events[0].data).toEqual({ cardNo: '1234567890', name: '张三', door: 1 });
    expect((await reader.call('GET', '/devices/gate-b1/events')).body.events[1].data.cardNo).toBe('1****0');
  });

  it('exports the filtered set as CSV: UTF-8 with BOM, a header, fields escaped, times in the asked offset', async () => {
    const r = consoleClient(c.url);
    await r.login(READER.username, READER.password);
    const res = await fetch(`${c.url}/console/api/events.csv?building=B1&tz=480`, { headers: { cookie: r.cookie! } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="events-\d{8}-\d{6}\.csv"$/);
    const bytes = Buffer.from(await res.arrayBuffer());
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const text = bytes.toString('utf8').slice(1);
    const lines = text.split('\r\n');
    expect(lines[0]).toBe('时间 (UTC+08:00),设备时间,序号,类型,级别,设备,设备类别,楼栋,区域,数据');
    expect(lines[1]).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,,\d+,gasoline\.test,info,gas-b1-101,gas-detector,B1,kitchen-101,"{""formula"":""=1\+1""}"$/);
    // The note with a comma, quotes and a line break stays one field (JSON keeps the break as \n).
    expect(lines[2]).toContain(',door.state,info,gate-b1,access-gate,B1,北门,"{""note"":""a, \\""quoted\\""\\nline"",""door"":1}"');
    expect(lines[3]).toContain('"{""cardNo"":""1****0"",""name"":""张*"",""door"":1}"');
    expect(lines.at(-1)).toBe('');
    expect(lines).toHaveLength(6); // header, 4 events of B1, the final line break
    const first = lines[1]!.split(',')[0]!;
    expect(first).toBe(localTime(new Date(now - 10 * MIN).toISOString(), 480));

    const en = await fetch(`${c.url}/console/api/events.csv?lang=en&device=nobody`, { headers: { cookie: r.cookie! } });
    expect((await en.text()).replace(/^\uFEFF/, '')).toBe('Time (UTC+00:00),Device time,Seq,Type,Severity,Device,Family,Building,Zone,Data\r\n');
  });

  it('refuses an export over the row cap before sending any row, saying how to narrow it', async () => {
    const r = consoleClient(c.url);
    await r.login(READER.username, READER.password);
    const over = await r.call('GET', '/events.csv');
    expect(over.status).toBe(413);
    expect(over.body.error).toBe('导出超过 4 行：请缩短时间范围或加筛选条件后再导出 / over 4 rows: narrow the time range or add a filter');
  });

  it('escapes CSV fields (RFC 4180) and keeps cells from starting a spreadsheet formula', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    expect(csvField('-5')).toBe("'-5");
    expect(csvField(42)).toBe('42');
    expect(csvField(undefined)).toBe('');
    expect(localTime('2026-05-01T00:30:00.000Z', 480)).toBe('2026-05-01 08:30:00');
  });
});
