/**
 * Night motion: under the real driver host on a manual clock at 23:00 and 12:00 in Asia/Shanghai,
 * against simulated cameras (any motion; a rule the camera names; a zone it never reports), and
 * the built-in rule through the real alarm engine (warning, zh-CN; disabled or replaced by id).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness } from '../../gateway/alarms/testing/engine-harness.js';
import { ManualClock } from '../../gateway/devices/testing/manual-clock.js';
import { waitFor } from '../../gateway/testing/wait-for.js';
import { onvifCamera } from './index.js';
import { isNight, NightMotion } from './night.js';
import { type CameraRig, startCameras, subscribed } from './testing/harness.js';

const T = { timeoutMs: 20_000 };
const SHANGHAI = 'Asia/Shanghai';
// 23:00 on 30 Nov 2026 in Shanghai (UTC+8)
const AT_23 = Date.parse('2026-11-30T23:00:00+08:00');
const night = { from: '22:00', to: '06:00' };

describe('night window', () => {
  it('crosses midnight, in the site time zone', () => {
    const at = (local: string) => Date.parse(`2026-11-30T${local}:00+08:00`);
    expect(['22:00', '23:59', '00:00', '05:59'].map((t) => isNight(night, at(t), SHANGHAI))).toEqual([true, true, true, true]);
    expect(['06:00', '12:00', '21:59'].map((t) => isNight(night, at(t), SHANGHAI))).toEqual([false, false, false]);
    // 23:00 in Shanghai is 16:00 in Berlin: day there
    expect(isNight(night, AT_23, 'Europe/Berlin')).toBe(false);
    expect(isNight({ from: '13:00', to: '14:00' }, at('13:30'), SHANGHAI)).toBe(true);
    expect(isNight({ from: '13:00', to: '14:00' }, at('14:00'), SHANGHAI)).toBe(false);
  });

  it('refuses a malformed or empty window with where and how', () => {
    const bad = NightMotion.safeParse({ from: '22', to: '06:00' });
    expect(bad.error!.issues[0]).toMatchObject({ path: ['from'], message: 'a local time of day like 22:00 (HH:MM, 24 h)' });
    const empty = NightMotion.safeParse({ from: '22:00', to: '22:00' });
    expect(empty.error!.issues[0]).toMatchObject({ path: ['to'], message: expect.stringMatching(/same time/) });
    expect(NightMotion.safeParse({ ...night, zones: [] }).success).toBe(false);
  });
});

describe('camera.motion.night from the simulated cameras', { timeout: 90_000 }, () => {
  const clock = new ManualClock(AT_23);
  let r: CameraRig;
  beforeAll(async () => {
    r = await startCameras({
      cameras: ['cam-any', 'cam-rule', 'cam-other'],
      deviceFor: {
        'cam-any': { nightMotion: night },
        // the simulator's cell motion detector rule
        'cam-rule': { nightMotion: { ...night, zones: ['MyMotionDetectorRule'] } },
        'cam-other': { nightMotion: { ...night, zones: ['Corridor'] } },
      },
      host: { clock, site: { id: 'site', timezone: SHANGHAI } },
    });
    for (const sim of r.sims.values()) await subscribed(sim);
  });
  afterAll(async () => {
    await r?.close();
  });

  /** Motion on then off; once the off is reported every notification of the on was read. */
  async function motion(id: string): Promise<void> {
    const sim = r.sims.get(id)!;
    const seen = r.h.eventsOf(id, 'camera.motion').length;
    sim.setMotion(true);
    await waitFor(`${id} motion on`, () => r.h.eventsOf(id, 'camera.motion').length === seen + 1, T);
    sim.setMotion(false);
    await waitFor(`${id} motion off`, () => r.h.eventsOf(id, 'camera.motion').length === seen + 2, T);
  }

  it('at 23:00: motion is also camera.motion.night, once per motion; with zones only motion of those', async () => {
    for (const id of r.sims.keys()) await motion(id);
    expect(r.h.eventsOf('cam-any', 'camera.motion.night')).toMatchObject([{ kind: 'event', severity: 'info' }]);
    expect(r.h.eventsOf('cam-rule', 'camera.motion.night').map((e) => e.data)).toEqual([{ rule: 'MyMotionDetectorRule' }]);
    expect(r.h.eventsOf('cam-other', 'camera.motion.night')).toEqual([]);
    expect(r.h.eventsOf('cam-any', 'camera.motion').map((e) => e.data.on)).toEqual([true, false]);
  });

  it('at 12:00: motion is camera.motion only', async () => {
    clock.advance(13 * 3600_000);
    for (const id of ['cam-any', 'cam-rule']) await motion(id);
    expect(r.h.eventsOf('cam-any', 'camera.motion.night')).toHaveLength(1);
    expect(r.h.eventsOf('cam-rule', 'camera.motion.night')).toHaveLength(1);
    expect(r.h.eventsOf('cam-any', 'camera.motion')).toHaveLength(4);
  });
});

describe('rule camera-night-motion', () => {
  const camera = { id: 'cam-b1-lobby', family: 'onvif-camera', building: 'B1', zone: 'lobby', tags: [] };
  const event = { deviceId: camera.id, type: 'camera.motion.night', kind: 'event' as const, severity: 'info' as const, data: { rule: 'MyMotionDetectorRule' } };

  it('raises a warning in zh-CN by default', async () => {
    const engine = startHarness({ builtin: true, families: [onvifCamera], devices: [camera] });
    try {
      await engine.emit(event);
      expect(engine.engine.activeAlarms().filter((a) => a.rule === 'camera-night-motion')).toMatchObject([
        { severity: 'warning', message: '夜间移动侦测：cam-b1-lobby（B1 lobby）' },
      ]);
    } finally {
      await engine.close();
    }
  });

  it('a site disables it, or replaces it by id (another severity)', async () => {
    const off = startHarness({ builtin: true, families: [onvifCamera], devices: [camera], alarms: { disable: ['camera-night-motion'] } });
    const major = startHarness({
      builtin: true,
      families: [onvifCamera],
      devices: [camera],
      rules: [{ id: 'camera-night-motion', severity: 'major', message: '夜间有人：{device.id}', match: { type: 'camera.motion.night' } }],
    });
    try {
      await off.emit(event);
      await major.emit(event);
      expect(off.engine.activeAlarms()).toEqual([]);
      expect(major.engine.activeAlarms().filter((a) => a.rule === 'camera-night-motion')).toMatchObject([
        { severity: 'major', message: '夜间有人：cam-b1-lobby' },
      ]);
    } finally {
      await off.close();
      await major.close();
    }
  });
});
