/**
 * The onvif-camera part of the compound simulator: a camera of the site file, driven by the real
 * driver; with CAMERA_SIM_STREAM=1 its RTSP stream, read by ffprobe at the URI the driver's
 * stream.uri gives the live view (needs ffmpeg/ffprobe and GStreamer's RTSP server, see
 * scripts/install-test-deps.sh).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probe } from '../../drivers/onvif-camera/discovery.js';
import { onvifCamera, OnvifCameraConfig } from '../../drivers/onvif-camera/index.js';
import { freePort } from '../../gateway/core/free-port.js';
import { createLogger } from '../../gateway/core/logger.js';
import type { DriverConfig, SimulatedDevice } from '../../gateway/devices/driver-api.js';
import { type HostHarness, startHost } from '../../gateway/devices/testing/host-harness.js';
import { waitFor } from '../../gateway/testing/wait-for.js';
import { simulator, streamWanted } from './compound.js';

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

  it('answers a WS-Discovery probe on its port number, on loopback (gateway discover onvif --target)', async () => {
    const url = String(cam.state().url);
    const found = await probe({ timeoutMs: 3000, target: { host: '127.0.0.1', port: Number(new URL(url).port) } });
    expect(found.map((c) => c.xaddrs)).toEqual([[url]]);
  });

  it('refuses an empty or unknown change', () => {
    expect(() => cam.apply({})).toThrow(/say what happens/);
    expect(() => cam.apply({ smoke: true })).toThrow(/smoke/);
  });

  it('runs no stream by default', () => {
    expect(cam.state()).toMatchObject({ stream: null });
  });
});

describe('CAMERA_SIM_STREAM', { timeout: 120_000 }, () => {
  it('is on for 1/true, off for 0/false/unset; anything else says how to set it', () => {
    expect(['1', 'true', ' ON '].map(streamWanted)).toEqual([true, true, true]);
    expect([undefined, '', '0', 'false'].map(streamWanted)).toEqual([false, false, false, false]);
    expect(() => streamWanted('cam-1')).toThrow("CAMERA_SIM_STREAM=cam-1: set it to 1 to run the simulated cameras' RTSP streams, or to 0 (or leave it unset) for none");
  });

  it('=1: the camera streams; the stream.uri the live view gets is readable (H.264 over RTSP/TCP)', async () => {
    const cfg = OnvifCameraConfig.parse({
      id: 'cameras',
      family: 'onvif-camera',
      devices: [{ id: 'cam-live', host: '127.0.0.1', port: await freePort(), username: 'admin', passwordFile: join(secrets, 'pw') }],
    });
    const before = process.env.CAMERA_SIM_STREAM;
    process.env.CAMERA_SIM_STREAM = '1';
    // what the simulator logs (the RTSP server's and ffmpeg's own lines among it), shown if the stream is not readable
    const simLog: string[] = [];
    const sink = new Writable({ write: (chunk: Buffer, _enc, done) => (simLog.push(chunk.toString().trim()), done()) });
    const sim = await simulator.start(cfg as unknown as DriverConfig, createLogger('info', sink)).finally(() => {
      if (before === undefined) delete process.env.CAMERA_SIM_STREAM;
      else process.env.CAMERA_SIM_STREAM = before;
    });
    const h = startHost({ families: [onvifCamera], drivers: [cfg as DriverConfig] });
    try {
      const stream = sim!.devices[0]!.state().stream as string;
      expect(stream).toMatch(/^rtsp:\/\/127\.0\.0\.1:\d+\/stream1$/);
      const res = await waitFor('stream.uri', async () => {
        const r = await h.execute('cam-live', 'stream.uri', {});
        return r.ok ? r : undefined;
      }, T);
      const uri = String(res.data!.uri);
      expect(uri).toBe(stream.replace('rtsp://', 'rtsp://admin:demo-Cam-1@'));
      let lastFailure = '';
      const probe = async () => {
        const args = ['-v', 'error', '-rtsp_transport', 'tcp', '-show_entries', 'stream=codec_name', '-of', 'csv=p=0', uri];
        const r = await promisify(execFile)('/usr/bin/ffprobe', args, { timeout: 20_000 }).catch((e: Error & { stderr?: string }) => {
          lastFailure = `${e.message.split('\n')[0]} ${e.stderr ?? ''}`.trim();
          return { stdout: '' };
        });
        return r.stdout.trim() || undefined;
      };
      const codec = await waitFor('ffprobe reads the stream', probe, { timeoutMs: 60_000, everyMs: 1000 }).catch((e: Error) => {
        throw new Error(`${e.message}; last ffprobe failure: ${lastFailure}; simulator log:\n${simLog.join('\n')}`);
      });
      expect(codec).toBe('h264');
    } finally {
      await h.close();
      await sim!.close();
    }
  });
});
