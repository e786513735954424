/** The onvif-camera part of the compound simulator: a camera of the site file, driven by the real driver. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onvifCamera, OnvifCameraConfig } from '../../drivers/onvif-camera/index.js';
import { freePort } from '../../gateway/core/free-port.js';
import { createLogger } from '../../gateway/core/logger.js';
import type { DriverConfig, SimulatedDevice } from '../../gateway/devices/driver-api.js';
import { type HostHarness, startHost } from '../../gateway/devices/testing/host-harness.js';
import { waitFor } from '../../gateway/testing/wait-for.js';
import { simulator } from './compound.js';

let running: { devices: SimulatedDevice[]; close(): Promise<void> } | undefined;
let host: HostHarness;
let cam: SimulatedDevice;
const secrets = mkdtempSync(join(tmpdir(), 'onvif-compound-'));
const T = { timeoutMs: 20_000 };

beforeAll(async () => {
  writeFileSync(join(secrets, 'pw'), 'demo-Cam-1\n');
  const cfg = OnvifCameraConfig.parse({
    id: 'cameras',
    family: 'onvif-camera',
    pollIntervalMs: 1000,
    requestTimeoutMs: 2000,
    presetSettleMs: 0,
    devices: [
      {
        id: 'cam-gate',
        building: 'B1',
        zone: 'gate',
        host: '127.0.0.1',
        port: await freePort(),
        username: 'admin',
        passwordFile: join(secrets, 'pw'),
        presets: { Gate: 1, Lobby: 2 },
        watches: { zones: ['B1'], preset: 'Lobby' },
      },
      { id: 'cam-real', host: '192.0.2.10', username: 'admin', passwordFile: join(secrets, 'pw') },
    ],
  });
  running = await simulator.start(cfg as unknown as DriverConfig, createLogger('silent'));
  cam = running!.devices[0]!;
  host = startHost({ families: [onvifCamera], drivers: [{ ...cfg, devices: cfg.devices.slice(0, 1) } as DriverConfig] });
});
afterAll(async () => {
  await host?.close();
  await running?.close();
  rmSync(secrets, { recursive: true, force: true });
});

describe('onvif-camera compound simulator', { timeout: 60_000 }, () => {
  it('simulates the loopback camera only, with its account and presets; a tamper change reaches the driver', async () => {
    expect(running!.devices.map((d) => d.id)).toEqual(['cam-gate']);
    await waitFor('subscribed', () => cam.state().subscriptions === 1, T);
    cam.apply({ tamper: true });
    await waitFor('tamper', () => host.eventsOf('cam-gate', 'camera.tamper')[0], T);
    expect(await host.execute('cam-gate', 'camera.link', { device: 'gas-b1-101', building: 'B1', zone: 'kitchen-101' })).toMatchObject({
      ok: true,
      data: { camera: 'cam-gate', preset: 'Lobby' },
    });
    expect(cam.state()).toMatchObject({ tamper: true, currentPreset: '2' });
  });

  it('refuses an empty or unknown change', () => {
    expect(() => cam.apply({})).toThrow(/say what happens/);
    expect(() => cam.apply({ smoke: true })).toThrow(/smoke/);
  });
});
