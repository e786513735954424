import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SmokeDetectorConfig } from './schema.js';

const dir = mkdtempSync(join(tmpdir(), 'smoke-schema-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const base = {
  id: 'lora-smoke',
  family: 'smoke-detector',
  devices: [{ id: 'smoke-1', devEui: '70B3D57ED0001001' }],
};
const problems = (cfg: unknown) => {
  const r = SmokeDetectorConfig.safeParse(cfg);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

describe('smoke-detector config', () => {
  it('defaults: the generic model, every application, 3 missed heartbeats, 50 ms codec limit; DevEUI in lower case', () => {
    expect(SmokeDetectorConfig.parse(base)).toMatchObject({
      applicationId: '+',
      missedHeartbeats: 3,
      codecTimeoutMs: 50,
      models: {},
      devices: [{ id: 'smoke-1', devEui: '70b3d57ed0001001', model: 'generic-smoke', tags: [] }],
    });
  });

  it('names every problem with its path: DevEUI, unknown model, duplicates, account with mqtt', () => {
    expect(
      problems({
        ...base,
        mqtt: { url: 'mqtt://ns.lan:1883' },
        account: 'chirpstack',
        devices: [
          { id: 'smoke-1', devEui: '70b3d57ed0001001' },
          { id: 'smoke-1', devEui: '70b3d57ed0001001', model: 'acme-sd9' },
        ],
      }),
    ).toEqual([
      'account: account names the embedded broker account of the network server; with mqtt: remove it',
      'devices.1.model: unknown model "acme-sd9"; models: generic-smoke (add one under models:)',
      'devices.1.id: device id smoke-1 is already used by devices[0]; each device needs its own',
      'devices.1.devEui: DevEUI 70b3d57ed0001001 is already used by devices[0]; each device needs its own',
    ]);
    expect(problems({ ...base, devices: [{ id: 'x', devEui: '70b3d57ed00010' }] })).toEqual([
      'devices.0.devEui: a DevEUI is 16 hex digits (EUI-64), e.g. 70b3d57ed0001234',
    ]);
  });

  it('a site model: its codec file must load, its table must name the family events and known uplink fields', () => {
    const vendor = join(dir, 'acme-sd9.js');
    writeFileSync(vendor, 'function decodeUplink(input) { return { data: { alarm: input.bytes[0] === 1 } }; }');
    const ok = SmokeDetectorConfig.parse({
      ...base,
      models: { 'acme-sd9': { codec: vendor, heartbeatIntervalS: 1800, events: [{ event: 'smoke.alarm', when: { alarm: true } }] } },
      devices: [{ id: 'smoke-1', devEui: '70b3d57ed0001001', model: 'acme-sd9' }],
    });
    expect(ok.devices[0]!.model).toBe('acme-sd9');

    const broken = join(dir, 'broken.js');
    writeFileSync(broken, 'function decodeUplink(input) {');
    expect(
      problems({
        ...base,
        models: {
          'acme-sd9': {
            codec: join(dir, 'missing.js'),
            heartbeatIntervalS: 1800,
            events: [{ event: 'smoke.alarm' }, { event: 'fire.alarm', data: { rssi: '$rsi' } }],
          },
          'acme-sd10': { codec: broken, heartbeatIntervalS: 1800, events: [{ event: 'smoke.test' }] },
        },
      }),
    ).toEqual([
      `models.acme-sd9.codec: cannot read codec file ${join(dir, 'missing.js')}: ENOENT`,
      'models.acme-sd9.events.1.event: a smoke-detector emits no "fire.alarm"; its events: smoke.alarm, smoke.alarm.cleared, smoke.silenced, smoke.test, smoke.fault, device.battery-low, device.tamper, device.heartbeat',
      'models.acme-sd9.events.1.data.rssi: unknown uplink field $rsi; use $rssi, $snr, $fCnt, $fPort, $gateways or a path in the codec\'s data',
      `models.acme-sd10.codec: codec file ${broken} is not valid JavaScript (line 1): Unexpected end of input`,
    ]);
  });
});
