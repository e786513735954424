import { afterEach, describe, expect, it } from 'vitest';
import { BUTTON_MODELS } from '../../drivers/alarm-button/models.js';
import { Codec } from '../../drivers/lorawan/codec-runner.js';
import { startNsBroker } from '../../drivers/lorawan/testing/lorawan-kit.js';
import { SMOKE_MODELS } from '../../drivers/smoke-detector/models.js';
import { createLogger } from '../../gateway/core/logger.js';
import type { DriverConfig } from '../../gateway/devices/driver-api.js';
import { waitFor } from '../../gateway/testing/wait-for.js';
import { smokeSimulator } from './compound.js';
import { BUTTON_FPORT, BUTTON_FRAMES, buttonFrame, SMOKE_FPORT, SMOKE_FRAMES, smokeFrame } from './frames.js';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});
const recvTime = new Date();

describe('LoRaWAN simulator frames, decoded by the shipped codecs (two independent implementations)', () => {
  it('every smoke detector frame', () => {
    const codec = Codec.fromFile(SMOKE_MODELS['generic-smoke'].codec);
    const state = { battery: 18, smoke: true, tamper: false, faultCode: 3, temperature: -4 };
    for (const type of Object.keys(SMOKE_FRAMES) as (keyof typeof SMOKE_FRAMES)[]) {
      const r = codec.decode({ bytes: [...smokeFrame(type, state)], fPort: SMOKE_FPORT, recvTime });
      expect(r).toMatchObject({ ok: true, output: { errors: [], data: { event: type, battery: 18, smoke: true, batteryLow: true, fault: true } } });
    }
    expect(codec.decode({ bytes: [...smokeFrame('heartbeat', state)], fPort: SMOKE_FPORT, recvTime })).toMatchObject({
      output: { data: { temperature: -4 } },
    });
  });

  it('every button frame, the press counter modulo 256', () => {
    const codec = Codec.fromFile(BUTTON_MODELS['generic-sos-button'].codec);
    const frames = { heartbeat: 'heartbeat', press: 'press', 'long-press': 'long-press', cancel: 'cancel' } as const;
    for (const type of Object.keys(BUTTON_FRAMES) as (keyof typeof BUTTON_FRAMES)[]) {
      const r = codec.decode({ bytes: [...buttonFrame(type, { battery: 60, presses: 257 })], fPort: BUTTON_FPORT, recvTime });
      expect(r).toMatchObject({ ok: true, output: { errors: [], data: { event: frames[type], battery: 60, batteryLow: false, presses: 1 } } });
    }
  });
});

describe('LoRaWAN part of the compound simulator', () => {
  it('publishes into the embedded broker as the network server account: a heartbeat per device at once, then what the control API asks', async () => {
    const seen: { username?: string; topic: string; body: { fCnt?: number; data: string } }[] = [];
    const ns = await startNsBroker({ chirpstack: 'sim-test-pass' }, async (client, topic, payload) => {
      seen.push({ username: client.username, topic, body: JSON.parse(payload.toString()) });
    });
    cleanup.push(ns.close);
    const env = { url: process.env.LORAWAN_SIM_URL, password: process.env.LORAWAN_SIM_PASSWORD };
    process.env.LORAWAN_SIM_URL = ns.url;
    process.env.LORAWAN_SIM_PASSWORD = 'sim-test-pass';
    cleanup.push(async () => {
      process.env.LORAWAN_SIM_URL = env.url;
      process.env.LORAWAN_SIM_PASSWORD = env.password;
    });
    const config = {
      id: 'lora-smoke',
      family: 'smoke-detector',
      applicationId: '+',
      devices: [
        { id: 'smoke-1', devEui: '70b3d57ed0001001', model: 'generic-smoke', heartbeatIntervalS: 60 },
        { id: 'smoke-2', devEui: '70b3d57ed0001002', model: 'generic-smoke' },
        { id: 'smoke-vendor', devEui: '70b3d57ed0001003', model: 'acme-sd9' },
      ],
    } as unknown as DriverConfig;
    const running = await smokeSimulator.start(config, createLogger('silent'));
    cleanup.push(() => running!.close());
    expect(running!.devices.map((d) => d.id)).toEqual(['smoke-1', 'smoke-2']);
    await waitFor('two heartbeats', () => seen.length >= 2);
    expect(seen.map((s) => [s.username, s.topic.split('/').slice(3).join('/'), s.body.fCnt])).toEqual([
      ['chirpstack', '70b3d57ed0001001/event/up', undefined],
      ['chirpstack', '70b3d57ed0001002/event/up', undefined],
    ]);
    await running!.devices[0]!.apply({ alarm: true });
    expect(seen.at(-1)!.body).toMatchObject({ fCnt: 1, data: Buffer.from([0x02, 95, 0x01]).toString('base64') });
    expect(running!.devices[0]!.state()).toMatchObject({ smoke: true, nextFCnt: 2, uplinks: 2, connected: true });
    // Every smoke change sends its own frame (first byte: the frame type).
    for (const change of [{ test: true }, { fault: 2 }, { tamper: true }, { hush: true }]) {
      const before = seen.length;
      await running!.devices[1]!.apply(change);
      await waitFor(`an uplink for ${JSON.stringify(change)}`, () => seen.length === before + 1);
    }
    const types = seen.slice(-4).map((s) => Buffer.from(s.body.data, 'base64')[0]);
    expect(new Set(types).size).toBe(4);
    await expect(Promise.resolve().then(() => running!.devices[0]!.apply({ press: true }))).rejects.toThrow(/"press"/);
  });
});
