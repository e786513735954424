/**
 * Video linkage through the real alarm engine: a gas alarm on a device a camera watches turns
 * that camera (in the real driver host, against its simulator) to the preset for the device and
 * takes a snapshot (the family's linkage on every major alarm); the alarm's history holds the outcome with the snapshot reference. A camera
 * that does not watch the device does nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness } from '../../gateway/alarms/testing/engine-harness.js';
import { waitFor } from '../../gateway/testing/wait-for.js';
import { onvifCamera } from './index.js';
import { type CameraRig, startCameras } from './testing/harness.js';

let r: CameraRig;
let engine: ReturnType<typeof startHarness>;

beforeAll(async () => {
  r = await startCameras({
    cameras: ['cam-1', 'cam-2'],
    deviceFor: {
      'cam-1': { watches: { zones: ['B1'], preset: 'Gate', presetFor: { 'gas-b1-101': 'Yard' } } },
      'cam-2': { building: 'B2', watches: { zones: ['B2'], preset: 'Yard' } },
    },
  });
  // what the cameras watch, as the gateway's inventory reads it from their config entries
  const watches = r.h.inventory.watches;
  engine = startHarness({
    builtin: true,
    families: [onvifCamera],
    // a site rule without actions of its own: the cameras' linkage is added to it
    rules: [{ id: 'gas-high', severity: 'critical', message: '燃气浓度超高限：{device.id}', match: { type: 'gas.alarm.high' } }],
    devices: [...r.h.inventory.devices.values()].filter((d) => d.family === 'onvif-camera'),
    watches,
    execute: (deviceId, name, args) => r.h.execute(deviceId, name, args),
  });
});
afterAll(async () => {
  await engine?.close();
  await r?.close();
});

const gasHigh = (deviceId: string) => ({
  deviceId,
  type: 'gas.alarm.high',
  kind: 'alarm' as const,
  severity: 'critical' as const,
  data: { lel: 61, lowThreshold: 20, highThreshold: 50, status: 'high' },
});
type Done = { command: string; target: string; outcome: string; data?: Record<string, unknown>; error?: string };
const actions = (alarmId: string) =>
  engine.alarmEvents('alarm.action').filter((e) => (e.data as { alarm: { id: string } }).alarm.id === alarmId).map((e) => e.data.action as Done);

describe('alarm video linkage', { timeout: 60_000 }, () => {
  it('reads the cameras\' watches from their config entries', () => {
    expect(r.h.inventory.watches.get('cam-1')).toMatchObject({ devices: [], zones: ['B1'] });
    expect(r.h.inventory.watches.get('cam-2')).toMatchObject({ devices: [], zones: ['B2'] });
  });

  it('a gas alarm on a watched device: the camera turns to its preset and snapshots; the history holds the outcome', async () => {
    await engine.emit(gasHigh('gas-b1-101'));
    const alarm = engine.engine.activeAlarms().find((a) => a.rule === 'gas-high' && a.subject.includes('gas-b1-101'))!;
    expect(alarm).toBeDefined();
    await waitFor('the camera linkage done', () => actions(alarm.id).find((a) => a.command === 'camera.link'), { timeoutMs: 20_000 });
    const link = actions(alarm.id).find((a) => a.command === 'camera.link')!;
    expect(link).toMatchObject({ target: 'cam-1', outcome: 'ok', data: { camera: 'cam-1', preset: 'Yard', snapshot: expect.stringMatching(/\.jpg$/) } });
    expect(r.sims.get('cam-1')!.currentPreset).toBe('2');
    expect(r.sims.get('cam-2')!.currentPreset).toBeUndefined();
    expect(engine.commands.filter((c) => c.name === 'camera.link').map((c) => c.deviceId)).toEqual(['cam-1']);
    const history = engine.engine.activeAlarms().find((a) => a.id === alarm.id)!.history;
    expect(history.find((h) => h.what === 'action' && (h.detail as Done).command === 'camera.link')?.detail).toMatchObject({
      outcome: 'ok',
      data: { snapshot: link.data!.snapshot },
    });
    expect(r.h.eventsOf('cam-1', 'camera.snapshot').map((e) => e.data.pictureRef)).toContain(link.data!.snapshot);
  });

  it('another device of the building: the camera\'s preset for everything it watches', async () => {
    await engine.emit(gasHigh('gas-b1-102'));
    const alarm = engine.engine.activeAlarms().find((a) => a.rule === 'gas-high' && a.subject.includes('gas-b1-102'))!;
    await waitFor('the camera linkage done', () => actions(alarm.id).find((a) => a.command === 'camera.link'), { timeoutMs: 20_000 });
    expect(actions(alarm.id).find((a) => a.command === 'camera.link')).toMatchObject({ outcome: 'ok', data: { preset: 'Gate' } });
    expect(r.sims.get('cam-1')!.currentPreset).toBe('1');
  });
});
