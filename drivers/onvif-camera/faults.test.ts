/**
 * onvif-camera when cameras misbehave: wrong password, a camera clock two hours off, malformed
 * answers, SOAP faults, a camera that never answers, a reboot: a clear reason, no crash, back
 * online when it answers, and the other camera of the driver unaffected.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../gateway/testing/wait-for.js';
import { type CameraRig, startCameras, subscribed } from './testing/harness.js';

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
const reason = (r: CameraRig, id: string) => r.h.availabilityLog.filter((a) => a.deviceId === id && !a.online).at(-1)?.reason;

describe('onvif-camera faults', { timeout: 90_000 }, () => {
  it('a wrong password: offline saying so, while the other camera keeps reporting; online once the password is right', async () => {
    const r = await rig({ cameras: ['cam-1', 'cam-2'] });
    const [bad, good] = [r.sims.get('cam-1')!, r.sims.get('cam-2')!];
    await waitFor('both online', () => r.h.online('cam-1') && r.h.online('cam-2'), T);
    await subscribed(good);
    bad.setPassword('changed-by-someone');
    await waitFor('cam-1 offline', () => r.h.online('cam-1') === false, T);
    expect(reason(r, 'cam-1')).toMatch(/refused the user name or password \(NotAuthorized\): check username and passwordFile/);
    good.setMotion(true);
    await waitFor('cam-2 motion', () => r.h.eventsOf('cam-2', 'camera.motion').length === 1, T);
    expect(r.h.online('cam-2')).toBe(true);
    bad.setPassword('Cam-2026!');
    await waitFor('cam-1 back online', () => r.h.online('cam-1') === true, T);
  });

  it('a camera clock two hours ahead works (WS-Security Created in its time), and so does a clock moved while connected', async () => {
    const r = await rig({ sim: { clockOffsetMs: 7_200_000 } });
    await subscribed(r.sim);
    r.sim.setMotion(true);
    await waitFor('motion', () => r.h.eventsOf('cam-1', 'camera.motion').length === 1, T);
    // the clock jumps back by two hours: the next request is refused, the reconnect measures the clock again
    r.sim.setClockOffset(0);
    expect(await r.h.execute('cam-1', 'ptz.goto-preset', { preset: 'Yard' })).toMatchObject({ ok: false, error: expect.stringMatching(/NotAuthorized/) });
    await waitFor('goto works again', async () => (await r.h.execute('cam-1', 'ptz.goto-preset', { preset: 'Yard' })).ok, T);
    expect(r.sim.currentPreset).toBe('2');
    r.sim.setMotion(false);
    await waitFor('motion off', () => r.h.eventsOf('cam-1', 'camera.motion').length === 2, T);
  });

  it('malformed answers and SOAP faults: a clear error, then it recovers (subscription too)', async () => {
    // No health check in between: the injected answers go to the commands (the pull is waiting).
    const r = await rig({ driver: { pollIntervalMs: 600_000 } });
    await subscribed(r.sim);
    await waitFor('online', () => r.h.online('cam-1'), T);
    r.sim.malformNext(1, 'not-xml');
    const m = await r.h.execute('cam-1', 'ptz.goto-preset', { preset: 'Gate' });
    expect(m).toMatchObject({ ok: false, error: expect.stringMatching(/^cam-1 goto-preset: malformed answer, not a SOAP envelope/) });
    r.sim.malformNext(1, 'truncated');
    expect(await r.h.execute('cam-1', 'camera.snapshot', {})).toMatchObject({ ok: false, error: expect.stringMatching(/malformed answer/) });
    r.sim.faultNext(1, 'ter:Action');
    expect(await r.h.execute('cam-1', 'ptz.goto-preset', { preset: 'Gate' })).toMatchObject({
      ok: false,
      error: expect.stringMatching(/the camera answered a SOAP fault/),
    });
    await waitFor('goto works again', async () => (await r.h.execute('cam-1', 'ptz.goto-preset', { preset: 'Gate' })).ok, T);
    expect(r.sim.currentPreset).toBe('1');
    // pulling again on a new subscription; the ones of dropped connections were given back
    const since = r.sim.calls.length;
    await waitFor('pulling again', () => r.sim.calls.slice(since).includes('PullMessages'), T);
    expect(r.sim.subscriptions()).toHaveLength(1);
    r.sim.crossLine(3);
    await waitFor('events still arrive', () => r.h.eventsOf('cam-1', 'camera.line-crossed').length === 1, T);
    expect(r.h.invalids).toEqual([]);
  });

  it('a malformed answer of the health check says so', async () => {
    const r = await rig({ driver: { offlineAfterFailures: 1 } });
    await waitFor('online', () => r.h.online('cam-1'), T);
    // as below: the event loop's requests take some of them
    r.sim.malformNext(10, 'not-xml');
    await waitFor('offline', () => r.h.online('cam-1') === false, T);
    expect(reason(r, 'cam-1')).toMatch(/malformed answer, not a SOAP envelope/);
    await waitFor('online again', () => r.h.online('cam-1') === true, { timeoutMs: 40_000 });
  });

  it('a SOAP fault of the health check says so', async () => {
    const r = await rig();
    await waitFor('online', () => r.h.online('cam-1'), T);
    // The event loop's requests take faults too (and a reconnect several): enough that the health
    // check meets at least one whichever request comes first.
    r.sim.faultNext(10, 'ter:Action');
    await waitFor('offline', () => r.h.online('cam-1') === false, T);
    expect(reason(r, 'cam-1')).toMatch(/SOAP fault/);
    await waitFor('online again', () => r.h.online('cam-1') === true, { timeoutMs: 40_000 });
  });

  it('a camera that never answers times out (offline: timeout) without holding up the other camera', async () => {
    const r = await rig({ cameras: ['cam-1', 'cam-2'] });
    const [hung, good] = [r.sims.get('cam-1')!, r.sims.get('cam-2')!];
    await waitFor('both online', () => r.h.online('cam-1') && r.h.online('cam-2'), T);
    await subscribed(good);
    hung.setHanging(true);
    await waitFor('cam-1 offline', () => r.h.online('cam-1') === false, T);
    expect(reason(r, 'cam-1')).toMatch(/no answer within 1500 ms \(timeout\)/);
    expect(await r.h.execute('cam-1', 'camera.snapshot', {})).toMatchObject({ ok: false, error: expect.stringMatching(/timeout/) });
    good.setTamper(true);
    await waitFor('cam-2 tamper', () => r.h.eventsOf('cam-2', 'camera.tamper').length === 1, T);
    expect(await r.h.execute('cam-2', 'ptz.goto-preset', { preset: 'Yard' })).toMatchObject({ ok: true });
    hung.setHanging(false);
    await waitFor('cam-1 online again', () => r.h.online('cam-1') === true, T);
    await subscribed(hung);
    hung.setMotion(true);
    await waitFor('cam-1 events again', () => r.h.eventsOf('cam-1', 'camera.motion').length === 1, T);
  });

  it('a camera turned off: offline (connection refused), online and subscribed again when it is back', async () => {
    const r = await rig({ sim: { rebootMs: 3000 } });
    await waitFor('online', () => r.h.online('cam-1'), T);
    const back = r.sim.reboot(3000);
    await waitFor('offline', () => r.h.online('cam-1') === false, T);
    expect(reason(r, 'cam-1')).toMatch(/ECONNREFUSED|ECONNRESET/);
    await back;
    await waitFor('online again', () => r.h.online('cam-1') === true, T);
    await subscribed(r.sim);
    r.sim.setVideoLoss(true);
    await waitFor('video loss', () => r.h.eventsOf('cam-1', 'camera.video-loss').length === 1, T);
  });
});
