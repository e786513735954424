/**
 * Personal data towards the city (masked, hashed, dropped, full) and events a device reports
 * late: the outbox rows as written, the journal untouched, and what a real mosquitto receives,
 * live and replayed.
 */
import { createHmac } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { DeviceEvent } from '../core/envelope.js';
import { createLogger } from '../core/logger.js';
import { createMetrics } from '../core/metrics.js';
import type { AnyFamily } from '../devices/driver-api.js';
import { buildInventory } from '../devices/inventory.js';
import { widgetConfig, widgetFamily } from '../devices/testing/test-family.js';
import { Journal } from '../journal/journal.js';
import { Pipeline } from '../pipeline/pipeline.js';
import { createGatewayUplink } from './index.js';
import { EVENT } from './outbox-tables.js';
import { maskValue, PrivacyConfig, readSalt } from './privacy.js';
import { UplinkConfig } from './uplink-config.js';
import { cityBroker, tempDir } from './testing/fixtures.js';
import { GATEWAY, ROOT, SITE } from './testing/harness.js';
import { waitFor } from './testing/mosquitto.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** The widget test family, with a badge event whose card number and name identify a person. */
const base = widgetFamily().family;
const family = {
  ...base,
  events: {
    ...base.events,
    'widget.badge': {
      kind: 'event',
      data: z.strictObject({ cardNo: z.string(), name: z.string().optional(), door: z.number() }),
      description: 'a badge at the door',
      personal: ['cardNo', 'name'],
    },
  },
} as AnyFamily;
const SALT = 'a-site-secret-of-32-bytes-length';

function gateway(dir: string, privacy: unknown, uplinkUrl = 'mqtt://127.0.0.1:1') {
  const log = createLogger('silent');
  const journal = new Journal({ path: join(dir, 'gw.db'), synchronous: 'NORMAL', retention: { maxAgeDays: 30, maxSizeMB: 100 } });
  const inventory = buildInventory(GATEWAY, [widgetConfig([{ id: 'door-1' }])], [family]);
  const metrics = createMetrics();
  const pipeline = new Pipeline({ site: SITE, gateway: GATEWAY, journal, devices: inventory.devices, metrics, log });
  cleanups.push(() => journal.close());
  const uplink = createGatewayUplink({
    config: {
      site: { id: SITE },
      gateway: { id: GATEWAY },
      uplink: UplinkConfig.parse({ url: uplinkUrl, backoff: { initialMs: 50, maxMs: 200 } }),
      privacy: PrivacyConfig.parse(privacy),
    },
    root: ROOT,
    journal,
    pipeline,
    inventory,
    metrics,
    log,
    execute: async () => ({ ok: false, error: 'none' }),
    families: [family],
  })!;
  cleanups.push(async () => {
    pipeline.flush();
    await uplink.close();
  });
  const badge = (extra: Partial<DeviceEvent> = {}) =>
    pipeline.ingest({
      deviceId: 'door-1',
      type: 'widget.badge',
      kind: 'event',
      severity: 'info',
      data: { cardNo: '3100123456789', name: '张三丰', door: 1 },
      ...extra,
    })!;
  /** Data of the outbox rows as the city would get them. */
  const outboxData = () => uplink.outbox.fetch(EVENT, 0, 100).map((r) => (JSON.parse(r.payload) as { data: unknown }).data);
  return { journal, pipeline, uplink, badge, outboxData };
}

describe('privacy of personal data towards the city', () => {
  it('masks by default: first and last character, length hidden; short values hidden too', () => {
    expect(maskValue('3100123456789')).toBe('3****9');
    expect(maskValue('张三丰')).toBe('张****丰');
    expect(maskValue('张三')).toBe('张*');
    expect(maskValue('7')).toBe('*');
    expect(maskValue(12345)).toBe('1****5');
    expect(PrivacyConfig.parse({}).personalData).toBe('masked');
  });

  it('the outbox gets the masked event (and the alarm raised by it); the journal keeps the full data', async () => {
    const g = gateway(tempDir('privacy-masked'), {});
    const env = g.badge();
    // An alarm raised by a badge event carries the trigger's data: masked the same way.
    g.pipeline.ingest({
      deviceId: 'door-1',
      type: 'alarm.raised',
      kind: 'event',
      severity: 'info',
      data: { alarm: { rule: 'r', trigger: { eventId: env.id, type: 'widget.badge', data: env.data } } },
    });
    await g.pipeline.committed();
    expect(g.outboxData()).toEqual([
      { cardNo: '3****9', name: '张****丰', door: 1 },
      { alarm: { rule: 'r', trigger: { eventId: env.id, type: 'widget.badge', data: { cardNo: '3****9', name: '张****丰', door: 1 } } } },
    ]);
    expect(g.journal.query({ type: 'widget.badge' })[0]?.data).toEqual({ cardNo: '3100123456789', name: '张三丰', door: 1 });
  });

  it('hashed: HMAC-SHA256 of the value with the site salt, hex; dropped: the key removed; full: unchanged', async () => {
    const dir = tempDir('privacy-modes');
    const saltFile = join(dir, 'salt');
    writeFileSync(saltFile, `${SALT}\n`);
    const hmac = (v: string) => createHmac('sha256', SALT).update(v).digest('hex');

    const hashed = gateway(join(dir), { personalData: 'hashed', saltFile });
    hashed.badge();
    hashed.badge({ data: { cardNo: '3100123456789', door: 2 } });
    await hashed.pipeline.committed();
    expect(hashed.outboxData()).toEqual([
      { cardNo: hmac('3100123456789'), name: hmac('张三丰'), door: 1 },
      { cardNo: hmac('3100123456789'), door: 2 },
    ]);

    const dropped = gateway(tempDir('privacy-dropped'), { personalData: 'dropped' });
    dropped.badge();
    await dropped.pipeline.committed();
    expect(dropped.outboxData()).toEqual([{ door: 1 }]);

    const full = gateway(tempDir('privacy-full'), { personalData: 'full' });
    full.badge();
    await full.pipeline.committed();
    expect(full.outboxData()).toEqual([{ cardNo: '3100123456789', name: '张三丰', door: 1 }]);
  });

  it('hashed without a usable salt is refused with what to do', () => {
    const dir = tempDir('privacy-salt');
    const r = PrivacyConfig.safeParse({ personalData: 'hashed' });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]).toMatchObject({ path: ['saltFile'], message: expect.stringContaining('head -c 32 /dev/urandom') });
    expect(() => readSalt(join(dir, 'missing'))).toThrow(/privacy\.saltFile .*missing cannot be read/);
    writeFileSync(join(dir, 'short'), 'abc\n');
    expect(() => readSalt(join(dir, 'short'))).toThrow(/holds 3 bytes; at least 16 are needed/);
    expect(() => gateway(dir, { personalData: 'hashed', saltFile: join(dir, 'short') })).toThrow(/at least 16/);
  });
});

describe('late events at the city broker', () => {
  it('personal data masked live and on replay; an event the device reports late is historical once, live or replayed', async () => {
    const dir = tempDir('privacy-city');
    const broker = await cityBroker(dir, {}, false);
    cleanups.push(() => broker.close());
    const g = gateway(dir, {}, broker.url);
    g.uplink.start();
    // While the city broker is down: one event as it happens, one the device reports late.
    const queuedLive = g.badge();
    const queuedLate = g.badge({ historical: true, deviceTime: new Date('2026-11-23T03:10:00Z') });
    await g.pipeline.committed();
    await broker.up();
    await waitFor('the replayed events', () => broker.events().length === 2);
    await waitFor('the link', () => g.uplink.state === 'connected');
    const liveNow = g.badge();
    const lateNow = g.badge({ historical: true });
    await waitFor('the live events', () => broker.events().length === 4);
    const got = new Map(broker.events().map((m) => [m.json.id, m]));
    const historicalFlags = (id: string) => got.get(id)!.text.match(/"historical"/g)?.length ?? 0;
    expect([queuedLive, queuedLate, liveNow, lateNow].map((e) => historicalFlags(e.id))).toEqual([1, 1, 0, 1]);
    expect([queuedLive, queuedLate, liveNow, lateNow].map((e) => got.get(e.id)!.userProperties.historical)).toEqual([
      'true',
      'true',
      undefined,
      'true',
    ]);
    for (const m of broker.events()) expect(m.json.data).toMatchObject({ cardNo: '3****9', name: '张****丰' });
    expect(got.get(queuedLate.id)!.json.deviceTime).toBe('2026-11-23T03:10:00.000Z');
  });
});
