/**
 * The npm `onvif` package (the project's ONVIF client) against the simulated camera: what a
 * driver does with it, over real HTTP on 127.0.0.1.
 */
import { Cam, type RequestCallback } from 'onvif';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../gateway/testing/wait-for.js';
import { OnvifCameraSimulator, type OnvifCameraOptions } from './camera.js';
import { DigestClient } from '../../drivers/http/digest.js';

const USER = 'admin';
const PASS = 'Cam-2026!';
let sim: OnvifCameraSimulator | undefined;

afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function camera(o: Partial<OnvifCameraOptions> = {}) {
  sim = new OnvifCameraSimulator({ username: USER, password: PASS, ...o });
  await sim.start();
  return sim;
}

function connect(s: OnvifCameraSimulator, extra: { password?: string; useWSSecurity?: boolean } = {}): Promise<Cam> {
  return new Promise((resolve, reject) => {
    const cam: Cam = new Cam(
      { hostname: '127.0.0.1', port: Number(new URL(s.url).port), username: USER, password: PASS, timeout: 20_000, ...extra },
      (err) => (err ? reject(err) : resolve(cam)),
    );
  });
}

/** A callback method of Cam as a promise. */
function call<T>(cam: Cam, fn: (cb: RequestCallback) => void): Promise<T> {
  return new Promise((resolve, reject) => fn.call(cam, (err, data) => (err ? reject(err) : resolve(data as T))));
}

describe('the onvif package against the simulated camera', { timeout: 60_000 }, () => {
  it('connects with WS-Security and reads device information, profiles, stream and snapshot URIs', async () => {
    const s = await camera({ streamUri: 'rtsp://127.0.0.1:8554/stream1' });
    const cam = await connect(s);
    const info = await call<{ manufacturer: string; model: string; serialNumber: string }>(cam, (cb) => cam.getDeviceInformation(cb));
    expect(info).toMatchObject({ manufacturer: 'SimVision', model: 'SV-IPC-T1', serialNumber: 'SV0001' });
    expect((cam.profiles ?? []).map((p) => p.$.token)).toEqual(['Profile_1']);
    const stream = await call<{ uri: string }>(cam, (cb) => cam.getStreamUri({ protocol: 'RTSP' }, cb));
    expect(stream.uri).toBe('rtsp://127.0.0.1:8554/stream1');
    const snap = await call<{ uri: string }>(cam, (cb) => cam.getSnapshotUri({}, cb));
    expect(snap.uri).toBe(`${s.url}/onvif/snapshot.jpg`);
    // the snapshot needs the same account, by HTTP Digest
    expect((await fetch(snap.uri)).status).toBe(401);
    const jpeg = Buffer.from(await (await new DigestClient({ username: USER, password: PASS }).fetch(snap.uri)).arrayBuffer());
    expect(jpeg.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
    expect(s.calls).toContain('GetServices');
  });

  it('lists PTZ presets and goes to one; the camera records it', async () => {
    const s = await camera();
    const cam = await connect(s);
    const presets = await call<Record<string, { $: { token: string } }>>(cam, (cb) => cam.getPresets({}, cb));
    expect(Object.fromEntries(Object.entries(presets).map(([name, p]) => [name, String(p.$.token)]))).toEqual({ Gate: '1', Yard: '2' });
    await call(cam, (cb) => cam.gotoPreset({ preset: '2' }, cb));
    expect(s.currentPreset).toBe('2');
    await expect(call(cam, (cb) => cam.gotoPreset({ preset: '9' }, cb))).rejects.toThrow(/no preset "9"/);
    const status = await call<{ position: { x: number; y: number } }>(cam, (cb) => cam.getStatus({}, cb));
    expect(status.position).toMatchObject({ x: 0.4, y: -0.2 });
  });

  it('delivers motion through a pull-point subscription, and a new subscription after a reboot', async () => {
    const s = await camera({ rebootMs: 300 });
    const cam = await connect(s);
    const got: { topic: string; data: string; op?: string }[] = [];
    const onEvent = (m: { topic: { _: string }; message: { message: { $: { PropertyOperation?: string }; data: { simpleItem: { $: { Value: unknown } } } } } }) =>
      got.push({ topic: m.topic._, data: String(m.message.message.data.simpleItem.$.Value), op: m.message.message.$.PropertyOperation });
    cam.on('event', onEvent);
    // the initial state of each property first
    await waitFor('initial motion state', () => got.find((e) => e.topic === 'tns1:VideoSource/MotionAlarm' && e.op === 'Initialized'), { timeoutMs: 20_000 });
    s.setMotion(true);
    await waitFor('motion', () => got.find((e) => e.topic === 'tns1:VideoSource/MotionAlarm' && e.op === 'Changed' && e.data === 'true'), { timeoutMs: 20_000 });
    expect(got).toContainEqual({ topic: 'tns1:RuleEngine/CellMotionDetector/Motion', data: 'true', op: 'Changed' });
    cam.removeListener('event', onEvent);
    await call(cam, (cb) => cam.unsubscribe(cb));
    expect(s.subscriptions()).toEqual([]);

    // after a reboot the old subscription is gone: only a new one hears the camera
    const sub = await call<{ subscriptionReference: { address: unknown } }>(cam, (cb) => cam.createPullPointSubscription(cb));
    expect(sub.subscriptionReference.address).toBeDefined();
    expect(s.subscriptions()).toHaveLength(1);
    await s.reboot();
    expect(s.subscriptions()).toEqual([]);
    s.crossLine(7);
    await expect(call(cam, (cb) => cam.pullMessages({ messageLimit: 10 }, cb))).rejects.toThrow(/no subscription/);
    await call(cam, (cb) => cam.createPullPointSubscription(cb));
    s.crossLine(8);
    const res = await call<{ notificationMessage: unknown }>(cam, (cb) => cam.pullMessages({ messageLimit: 10 }, cb));
    const xml = JSON.stringify(res);
    expect(xml).toContain('tns1:RuleEngine/LineDetector/Crossed');
    expect(xml).toContain('"Value":8');
    expect(xml).not.toContain('"Value":7');
  });
});
