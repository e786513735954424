/**
 * Runs the onvif-camera family in a real driver host against simulated ONVIF cameras on
 * 127.0.0.1 (each its own simulator, account in files as a site would have it).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DriverConfig } from '../../../gateway/devices/driver-api.js';
import { type HostHarness, type HostHarnessOptions, startHost } from '../../../gateway/devices/testing/host-harness.js';
import { waitFor } from '../../../gateway/testing/wait-for.js';
import { OnvifCameraSimulator, type OnvifCameraOptions } from '../../../simulators/onvif-camera/index.js';
import { onvifCamera, OnvifCameraConfig } from '../index.js';

export const USER = 'admin';
export const PASS = 'Cam-2026!';

export interface CameraRig {
  h: HostHarness;
  sims: Map<string, OnvifCameraSimulator>;
  sim: OnvifCameraSimulator;
  config: OnvifCameraConfig;
  secrets: string;
  close(): Promise<void>;
}

export interface CameraRigOptions {
  cameras?: string[];
  sim?: Partial<OnvifCameraOptions>;
  /** Simulator options of one camera. */
  simFor?: Record<string, Partial<OnvifCameraOptions>>;
  /** Device entry fields of every camera. */
  device?: Record<string, unknown>;
  /** Device entry fields of one camera. */
  deviceFor?: Record<string, Record<string, unknown>>;
  /** The password the gateway reads from its file (default: the cameras'). */
  password?: string;
  driver?: Record<string, unknown>;
  host?: Partial<HostHarnessOptions>;
}

/** Cameras `cam-1`... in B1/gate, presets Gate (1) and Yard (2), checked every second, offline after one failure. */
export async function startCameras(o: CameraRigOptions = {}): Promise<CameraRig> {
  const secrets = mkdtempSync(join(tmpdir(), 'onvif-secrets-'));
  writeFileSync(join(secrets, 'password'), `${o.password ?? PASS}\n`, { mode: 0o600 });
  const sims = new Map<string, OnvifCameraSimulator>();
  for (const id of o.cameras ?? ['cam-1']) {
    const sim = new OnvifCameraSimulator({ username: USER, password: PASS, rebootMs: 300, ...o.sim, ...o.simFor?.[id] });
    await sim.start();
    sims.set(id, sim);
  }
  const config = OnvifCameraConfig.parse({
    id: 'cameras',
    family: 'onvif-camera',
    pollIntervalMs: 1000,
    requestTimeoutMs: 1500,
    offlineAfterFailures: 1,
    presetSettleMs: 0,
    backoff: { initialMs: 200, maxMs: 1000 },
    devices: [...sims].map(([id, sim]) => ({
      id,
      building: 'B1',
      zone: 'gate',
      host: '127.0.0.1',
      port: Number(new URL(sim.url).port),
      username: USER,
      passwordFile: join(secrets, 'password'),
      presets: { Gate: '1', Yard: 2 },
      ...o.device,
      ...o.deviceFor?.[id],
    })),
    ...o.driver,
  });
  const h = startHost({ families: [onvifCamera], drivers: [config as DriverConfig], ...o.host });
  await waitFor('driver running', () => h.host.status()[0]?.state === 'running');
  return {
    h,
    sims,
    sim: sims.values().next().value!,
    config,
    secrets,
    async close() {
      await h.close();
      await Promise.all([...sims.values()].map((s) => s.close()));
      rmSync(secrets, { recursive: true, force: true });
    },
  };
}

/** Waits for the camera's event subscription (the simulator has a live one). */
export async function subscribed(sim: OnvifCameraSimulator): Promise<void> {
  await waitFor('a pull-point subscription', () => sim.subscriptions().length > 0, { timeoutMs: 20_000 });
}
