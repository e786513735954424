/** onvif-camera under the real driver host, against the simulated camera: device, media, PTZ, snapshot, events. */
import { existsSync } from 'node:fs';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { DriverConfig } from '../../gateway/devices/driver-api.js';
import { startHost } from '../../gateway/devices/testing/host-harness.js';
import { waitFor } from '../../gateway/testing/wait-for.js';
import { onvifCamera, OnvifCameraConfig } from './index.js';
import { type CameraRig, PASS, startCameras, subscribed, USER } from './testing/harness.js';

const rigs: CameraRig[] = [];
afterEach(async () => {
  for (const r of rigs.splice(0)) await r.close();
});
async function rig(o?: Parameters<typeof startCameras>[0]) {
  const r = await startCameras(o);
  rigs.push(r);
  return r;
}
const T = { timeoutMs: 20_000 };

describe('onvif-camera against the simulated camera', { timeout: 60_000 }, () => {
  it('is online, answers the stream URI with the account in it, and goes to a PTZ preset by name', async () => {
    const { h, sim } = await rig({ sim: { streamUri: 'rtsp://127.0.0.1:8554/stream1' } });
    await waitFor('online', () => h.online('cam-1') === true, T);
    expect(sim.calls).toContain('GetProfiles');
    await waitFor('the health check', () => sim.calls.includes('GetDeviceInformation'), T);

    const uri = await h.execute('cam-1', 'stream.uri', {});
    expect(uri).toEqual({ ok: true, data: { uri: `rtsp://${USER}:${encodeURIComponent(PASS)}@127.0.0.1:8554/stream1` } });

    expect(await h.execute('cam-1', 'ptz.goto-preset', { preset: 'Yard' })).toEqual({ ok: true, data: { preset: 'Yard' } });
    expect(sim.currentPreset).toBe('2');
    const unknown = await h.execute('cam-1', 'ptz.goto-preset', { preset: 'Roof' });
    expect(unknown).toMatchObject({ ok: false, error: expect.stringMatching(/no preset "Roof" \(known: Gate, Yard\)/) });
    expect(sim.currentPreset).toBe('2');
  });

  it('takes a snapshot (HTTP Digest), stores the JPEG and reports camera.snapshot', async () => {
    const { h, sim } = await rig();
    const res = await h.execute('cam-1', 'camera.snapshot', {});
    expect(res).toMatchObject({ ok: true, data: { pictureRef: expect.stringMatching(/\.jpg$/) } });
    const ref = (res as unknown as { data: { pictureRef: string } }).data.pictureRef;
    expect(h.eventsOf('cam-1', 'camera.snapshot')).toMatchObject([{ kind: 'event', data: { pictureRef: ref } }]);
    expect(sim.calls).toContain('GetSnapshotUri');
  });

  it('reports motion, tamper, video loss and a line crossing from the pull point, each change once', async () => {
    const { h, sim } = await rig();
    await subscribed(sim);
    // the initial states (all off) are no events
    sim.setMotion(true);
    await waitFor('motion on', () => h.eventsOf('cam-1', 'camera.motion').length === 1, T);
    expect(h.eventsOf('cam-1', 'camera.motion')[0]).toMatchObject({ kind: 'event', severity: 'info', data: { on: true } });
    sim.setMotion(false);
    await waitFor('motion off', () => h.eventsOf('cam-1', 'camera.motion').length === 2, T);
    expect(h.eventsOf('cam-1', 'camera.motion')[1]!.data).toMatchObject({ on: false });

    sim.setTamper(true);
    await waitFor('tamper', () => h.eventsOf('cam-1', 'camera.tamper').length === 1, T);
    expect(h.eventsOf('cam-1', 'camera.tamper')[0]).toMatchObject({ kind: 'alarm', severity: 'major', data: { on: true } });
    sim.setVideoLoss(true);
    await waitFor('video loss', () => h.eventsOf('cam-1', 'camera.video-loss').length === 1, T);
    expect(h.eventsOf('cam-1', 'camera.video-loss')[0]).toMatchObject({ kind: 'alarm', severity: 'major', data: { on: true } });
    sim.crossLine(7);
    await waitFor('line crossed', () => h.eventsOf('cam-1', 'camera.line-crossed').length === 1, T);
    expect(h.eventsOf('cam-1', 'camera.line-crossed')[0]!.data).toEqual({ rule: 'MyLineDetectorRule', objectId: '7' });
    expect(h.eventsOf('cam-1', 'camera.motion')).toHaveLength(2);
    expect(h.invalids).toEqual([]);
  });

  it('subscribes again after a reboot: an event after it arrives, and a state that changed meanwhile is reported', async () => {
    const { h, sim } = await rig();
    await subscribed(sim);
    const first = sim.subscriptions()[0];
    await sim.reboot(500);
    await waitFor('a new subscription', () => sim.subscriptions().length > 0 && sim.subscriptions()[0] !== first, T);
    sim.crossLine(42);
    await waitFor('line crossing after the reboot', () => h.eventsOf('cam-1', 'camera.line-crossed').find((e) => e.data.objectId === '42'), T);

    // tamper starts while the camera restarts: the new subscription's initial state reports it
    const again = sim.subscriptions()[0];
    const reboot = sim.reboot(500);
    sim.setTamper(true);
    await reboot;
    await waitFor('a third subscription', () => sim.subscriptions().length > 0 && sim.subscriptions()[0] !== again, T);
    await waitFor('tamper from the initial state', () => h.eventsOf('cam-1', 'camera.tamper').length === 1, T);
    expect(h.eventsOf('cam-1', 'camera.tamper')[0]!.data).toEqual({ on: true });
  });

  it('stops cleanly: unsubscribes, and leaves no request pending', async () => {
    const r = await startCameras();
    await subscribed(r.sim);
    await r.h.close();
    expect(r.sim.subscriptions()).toEqual([]);
    await r.sims.get('cam-1')!.close();
    expect(existsSync(r.secrets)).toBe(true);
    await r.close().catch(() => undefined);
  });
});

describe('onvif-camera stopping', { timeout: 60_000 }, () => {
  it('stops at once while a camera that never answers holds its connection (no wait for the request timeout)', async () => {
    // a camera that accepts the connection and never answers
    const open = new Set<Socket>();
    const silent = createServer((s) => {
      open.add(s);
      s.resume(); // reads the requests (and so sees the driver closing), answers nothing
      s.on('close', () => open.delete(s));
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const config = OnvifCameraConfig.parse({
      id: 'cameras',
      family: 'onvif-camera',
      requestTimeoutMs: 600_000,
      devices: [{ id: 'cam-1', host: '127.0.0.1', port: (silent.address() as AddressInfo).port, username: USER, passwordFile: fileURLToPath(import.meta.url) }],
    });
    const h = startHost({ families: [onvifCamera], drivers: [config as DriverConfig] });
    await waitFor('connecting', () => open.size > 0, T);
    await h.close(); // resolves long before the 10 min request timeout (or the test times out)
    await waitFor('the driver closed its connection', () => open.size === 0, T);
    await new Promise<void>((r) => silent.close(() => r()));
  });
});
