import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { DriverConfig } from '../../gateway/devices/driver-api.js';
import { startExternalBroker } from '../../gateway/devices/testing/external-broker.js';
import { type HostHarness, startHost } from '../../gateway/devices/testing/host-harness.js';
import { waitFor } from '../../gateway/testing/wait-for.js';
import { APP, mosquittoPub, type NsBroker, startNsBroker, StepClock, uplink } from '../lorawan/testing/lorawan-kit.js';
import { smokeDetector } from './index.js';

const NS = { username: 'chirpstack', password: 'ns-password-1' };
const HALL = '70b3d57ed0001001';
const STAIRS = '70b3d57ed0001002';
const dir = mkdtempSync(join(tmpdir(), 'smoke-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const LOOPING = join(dir, 'looping.js');
writeFileSync(LOOPING, 'function decodeUplink(input) { while (input.bytes.length > 0) {} return { data: {} }; }');

function config(extra: Record<string, unknown> = {}): DriverConfig {
  return smokeDetector.configSchema.parse({
    id: 'lora-smoke',
    family: 'smoke-detector',
    account: NS.username,
    devices: [
      { id: 'smoke-b1-hall', devEui: HALL, building: 'B1', zone: 'hall-1' },
      { id: 'smoke-b1-stairs', devEui: STAIRS.toUpperCase(), building: 'B1', zone: 'stairs', heartbeatIntervalS: 600 },
    ],
    ...extra,
  }) as DriverConfig;
}

/** The real host running one smoke-detector instance, fed by the embedded broker. */
async function boot(extra: Record<string, unknown> = {}) {
  const clock = new StepClock();
  const h = startHost({ families: [smokeDetector], drivers: [config(extra)], clock });
  cleanup.push(h.close);
  const ns = await startNsBroker({ [NS.username]: NS.password, intruder: 'intruder-pass' }, h.host.onDevicePublish);
  cleanup.push(ns.close);
  await waitFor('driver running', () => h.host.status()[0]?.state === 'running');
  return { h, ns, clock };
}

const pub = (ns: NsBroker, topic: string, message: string | Record<string, unknown>, account = NS) =>
  mosquittoPub({ port: ns.port, ...account, topic, message });

const send = (ns: NsBroker, devEui: string, fCnt: number, hex: string, extra: { gatewayId?: string; rssi?: number } = {}) => {
  const u = uplink(devEui, { fCnt, fPort: 10, hex, ...extra });
  return pub(ns, u.topic, u.body);
};

async function refused(h: HostHarness, reason: string): Promise<number> {
  const m = await h.metrics.driverRefused.get();
  return m.values.find((v) => v.labels.reason === reason && v.labels.driver === 'lora-smoke')?.value ?? 0;
}

const types = (h: HostHarness, id = 'smoke-b1-hall') => h.eventsOf(id).map((e) => e.type);

describe('smoke-detector under the driver host, uplinks published with mosquitto_pub', () => {
  it('an alarm uplink is a critical smoke.alarm; test, hush, clear, fault, tamper and heartbeats become their events', async () => {
    const { h, ns } = await boot();
    await send(ns, HALL, 1, '025801');
    await waitFor('smoke.alarm', () => h.eventsOf('smoke-b1-hall', 'smoke.alarm')[0]);
    expect(h.eventsOf('smoke-b1-hall', 'smoke.alarm')[0]).toMatchObject({
      kind: 'alarm',
      severity: 'critical',
      data: { battery: 88 },
      deviceTime: new Date('2026-03-01T08:00:00Z'),
    });
    expect(h.online('smoke-b1-hall')).toBe(true);
    for (const [fCnt, hex] of [[2, '045801'], [3, '035800'], [4, '05ff00'], [5, '06500802'], [6, '075004'], [7, '015a0016']] as const) {
      await send(ns, HALL, fCnt, hex, { rssi: -101 });
    }
    await waitFor('seven events', () => h.eventsOf('smoke-b1-hall').length === 7);
    expect(types(h)).toEqual([
      'smoke.alarm',
      'smoke.silenced',
      'smoke.alarm.cleared',
      'smoke.test',
      'smoke.fault',
      'device.tamper',
      'device.heartbeat',
    ]);
    expect(h.eventsOf('smoke-b1-hall', 'smoke.fault')[0]).toMatchObject({ kind: 'alarm', severity: 'major', data: { code: 2, reason: 'sounder' } });
    expect(h.eventsOf('smoke-b1-hall', 'device.heartbeat')[0]).toMatchObject({
      kind: 'telemetry',
      data: { battery: 90, rssi: -101, snr: 7.25 },
    });
    // A status event (DevStatusAns) reports the battery as a heartbeat.
    await pub(ns, `application/${APP}/device/${HALL}/event/status`, {
      deviceInfo: { devEui: HALL },
      margin: 9,
      batteryLevel: 77,
    });
    await waitFor('status heartbeat', () => h.eventsOf('smoke-b1-hall', 'device.heartbeat')[1]);
    expect(h.eventsOf('smoke-b1-hall', 'device.heartbeat')[1]!.data).toEqual({ battery: 77 });
  });

  it('the same uplink via a second gateway is dropped once; garbage, strangers and bad JSON are counted, nothing lost after them', async () => {
    const { h, ns } = await boot();
    await send(ns, HALL, 10, '025801');
    await send(ns, HALL, 10, '025801', { gatewayId: '0016c001ff10b4e1', rssi: -110 });
    await send(ns, HALL, 11, 'deadbeef'); // garbage: the codec says why
    await send(ns, HALL, 12, '02'); // truncated
    await send(ns, 'ffffffffffffffff', 1, '025801');
    await pub(ns, `application/${APP}/device/${HALL}/event/up`, 'not json');
    await pub(ns, `application/${APP}/device/${HALL}/event/up`, { deviceInfo: { devEui: STAIRS }, fCnt: 1 });
    await pub(ns, `application/${APP}/device/${HALL}/event/up`, uplink(HALL, { fCnt: 13, fPort: 10, hex: '025801' }).body, {
      username: 'intruder',
      password: 'intruder-pass',
    });
    await send(ns, HALL, 14, '035800');
    await waitFor('cleared', () => h.eventsOf('smoke-b1-hall', 'smoke.alarm.cleared')[0]);
    expect(types(h)).toEqual(['smoke.alarm', 'smoke.alarm.cleared']);
    expect(await refused(h, 'duplicate')).toBe(1);
    expect(await refused(h, 'unknown-sender')).toBe(1);
    expect(await refused(h, 'shape')).toBe(2);
    expect(await refused(h, 'auth')).toBe(1);
    expect(h.invalids.map((i) => i.reason)).toEqual([
      'codec of model generic-smoke: unknown frame type 0xde',
      'codec of model generic-smoke: payload too short: 1 bytes, at least 3 expected',
    ]);
    expect(h.invalids[0]!.raw).toEqual({ fPort: 10, fCnt: 11, hex: 'deadbeef' });
  });

  it('frames out of order are still reported, a repeat of one is not; after a rejoin the counter starts again', async () => {
    const { h, ns } = await boot();
    await send(ns, HALL, 5, '05ff00');
    await send(ns, HALL, 7, '045801');
    await send(ns, HALL, 6, '025801'); // late: delivered after 7
    await send(ns, HALL, 6, '025801');
    await pub(ns, `application/${APP}/device/${HALL}/event/join`, { deviceInfo: { devEui: HALL }, devAddr: '01aa0001' });
    await send(ns, HALL, 0, '035800');
    await send(ns, HALL, 1, '05ff00');
    await waitFor('five events', () => h.eventsOf('smoke-b1-hall').length === 5);
    expect(types(h)).toEqual(['smoke.test', 'smoke.silenced', 'smoke.alarm', 'smoke.alarm.cleared', 'smoke.test']);
    expect(await refused(h, 'duplicate')).toBe(1);
  });

  it('the counters survive a restart of the gateway: an uplink delivered again is not reported twice', async () => {
    const dbPath = join(dir, 'restart.db');
    const first = startHost({ families: [smokeDetector], drivers: [config()], dbPath });
    const ns1 = await startNsBroker({ [NS.username]: NS.password }, first.host.onDevicePublish);
    await waitFor('running', () => first.host.status()[0]?.state === 'running');
    await send(ns1, HALL, 40, '025801');
    await waitFor('alarm', () => first.eventsOf('smoke-b1-hall')[0]);
    await ns1.close();
    await first.close();

    const second = startHost({ families: [smokeDetector], drivers: [config()], dbPath });
    cleanup.push(second.close);
    const ns2 = await startNsBroker({ [NS.username]: NS.password }, second.host.onDevicePublish);
    cleanup.push(ns2.close);
    await waitFor('running', () => second.host.status()[0]?.state === 'running');
    await send(ns2, HALL, 40, '025801');
    await send(ns2, HALL, 41, '035800');
    await waitFor('cleared', () => second.eventsOf('smoke-b1-hall')[0]);
    expect(types(second)).toEqual(['smoke.alarm.cleared']);
  });

  it('a codec that loops forever is stopped by the time limit and counted; the device and the others keep working', async () => {
    const { h, ns } = await boot({
      codecTimeoutMs: 20,
      models: {
        'looping-smoke': {
          codec: LOOPING,
          heartbeatIntervalS: 600,
          events: [{ event: 'smoke.alarm', when: { alarm: true } }],
        },
      },
      devices: [
        { id: 'smoke-b1-hall', devEui: HALL, model: 'looping-smoke' },
        { id: 'smoke-b1-stairs', devEui: STAIRS },
      ],
    });
    await send(ns, HALL, 1, '025801');
    await send(ns, HALL, 2, '025801');
    await send(ns, STAIRS, 1, '025801');
    await waitFor('stairs alarm', () => h.eventsOf('smoke-b1-stairs', 'smoke.alarm')[0]);
    expect(await refused(h, 'codec-timeout')).toBe(2);
    expect(h.eventsOf('smoke-b1-hall')).toEqual([]);
    expect(h.online('smoke-b1-hall')).toBe(true);
  });

  it('a detector that misses its heartbeats goes offline (manual clock), and comes back with its next uplink', async () => {
    const { h, ns, clock } = await boot();
    await send(ns, STAIRS, 1, '015a0016');
    await waitFor('heartbeat', () => h.eventsOf('smoke-b1-stairs', 'device.heartbeat')[0]);
    expect(h.online('smoke-b1-stairs')).toBe(true);
    clock.advance(3 * 600_000 - 1);
    expect(h.online('smoke-b1-stairs')).toBe(true);
    clock.advance(1);
    expect(h.online('smoke-b1-stairs')).toBe(false);
    expect(h.availabilityLog.at(-1)).toEqual({
      deviceId: 'smoke-b1-stairs',
      online: false,
      reason: 'missed 3 heartbeats (one every 600 s)',
    });
    // The hall detector, never heard, has the model's hourly heartbeat: offline after 3 h.
    expect(h.online('smoke-b1-hall')).toBeUndefined();
    clock.advance(3 * 3_600_000);
    expect(h.online('smoke-b1-hall')).toBe(false);
    await send(ns, STAIRS, 2, '015a0016');
    await waitFor('online again', () => h.online('smoke-b1-stairs'));
  });

  it('subscribes on the network server broker (mosquitto) when the config has mqtt:', async () => {
    const mdir = mkdtempSync(join(dir, 'mosq-'));
    const ext = await startExternalBroker(mdir, { gateway: 'gw-secret-1', chirpstack: NS.password });
    cleanup.push(ext.stop);
    writeFileSync(join(mdir, 'pw'), 'gw-secret-1\n');
    const cfg = config({ account: undefined, mqtt: { url: ext.url, username: 'gateway', passwordFile: join(mdir, 'pw') } });
    const h = startHost({ families: [smokeDetector], drivers: [cfg] });
    cleanup.push(h.close);
    await waitFor('driver running', () => h.host.status()[0]?.state === 'running');
    const u = uplink(HALL, { fCnt: 3, fPort: 10, hex: '025801' });
    await mosquittoPub({ port: ext.port, ...NS, topic: u.topic, message: u.body });
    await waitFor('alarm', () => h.eventsOf('smoke-b1-hall', 'smoke.alarm')[0]);
  });
});
