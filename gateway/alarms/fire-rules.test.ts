/** The built-in fire linkage: confirmation by two detectors in a building, gates and sirens, back to normal on resolve. */
import { describe, expect, it } from 'vitest';
import { gasDetector } from '../../drivers/gas-detector/index.js';
import { AlarmsConfig, Rule } from '../core/rule-schema.js';
import { NotifyConfig } from '../notify/notify-schema.js';
import { waitFor } from '../testing/wait-for.js';
import { builtinRules } from './builtin-rules.js';
import { checkAlarmConfig } from './check-rules.js';
import { startHarness } from './testing/engine-harness.js';
import { FIRE_DEVICES, gateFamily, ioFamily, smokeFamily } from './testing/families.js';

const ALL = [gasDetector, smokeFamily, gateFamily, ioFamily];
const smoke = (deviceId: string) => ({
  deviceId,
  type: 'smoke.alarm',
  kind: 'alarm' as const,
  severity: 'critical' as const,
  data: {},
});
const gasHigh = (deviceId: string) => ({
  deviceId,
  type: 'gas.alarm.high',
  kind: 'alarm' as const,
  severity: 'critical' as const,
  data: { lel: 60, lowThreshold: 20, highThreshold: 50, status: 'high' },
});
/** Devices of the registered families only (a device of an unregistered family cannot be configured). */
const fireHarness = (families = ALL) =>
  startHarness({
    builtin: true,
    families,
    devices: FIRE_DEVICES.filter((d) => families.some((f) => f.family === d.family)),
    alarms: { disable: ['gas-high'] },
  });
const fires = (h: ReturnType<typeof fireHarness>) => h.engine.activeAlarms().filter((a) => a.rule === 'fire-confirmed');
const sent = (h: ReturnType<typeof fireHarness>) => h.commands.map((c) => `${c.name} ${c.deviceId}`).sort();

describe('built-in fire rules', () => {
  it('are on only with the smoke detector family, and are valid rules', () => {
    expect(builtinRules([gasDetector, gateFamily, ioFamily]).map((r) => r.id)).not.toContain('fire-confirmed');
    const fire = builtinRules(ALL).find((r) => r.id === 'fire-confirmed');
    expect(Rule.parse(fire)).toMatchObject({ severity: 'critical', subject: 'building', latch: true });
  });

  it('two smoke detectors in one building within 2 min: gates of the building and exit gates held open, its sirens on; resolved: back to normal', async () => {
    const h = fireHarness();
    await h.emit(smoke('smoke-b1-1'));
    expect(fires(h)).toEqual([]);
    await h.advance(119_000);
    await h.emit(smoke('smoke-b1-2'));
    const [fire] = fires(h);
    expect(fire).toMatchObject({ subject: 'building:B1', severity: 'critical', devices: ['smoke-b1-1', 'smoke-b1-2'] });
    expect(fire?.message).toBe('火警确认：B1 两个探测器报警（最近：smoke-b1-2 stair-2）');
    await waitFor('three raise actions', () => h.alarmEvents('alarm.action').length === 3);
    expect(sent(h)).toEqual(['door.always-open gate-b1', 'door.always-open gate-north', 'siren.on siren-b1']);
    // A third detector is a repeat of the same fire, not a new one, and sends nothing more.
    await h.emit(smoke('smoke-b1-1'));
    expect(fires(h)).toHaveLength(1);
    expect(h.commands).toHaveLength(3);
    // Latched: it ends only when a person resolves it; then gates resume and sirens stop.
    expect(h.engine.resolve(fire!.id, 'duty.zhang', 'fire brigade: all clear').ok).toBe(true);
    await waitFor('three resolve actions', () => h.alarmEvents('alarm.action').length === 6);
    expect(sent(h).filter((c) => !c.startsWith('door.always-open') && !c.startsWith('siren.on'))).toEqual([
      'door.resume gate-b1',
      'door.resume gate-north',
      'siren.off siren-b1',
    ]);
    expect(h.engine.activeAlarms().filter((a) => a.rule === 'linkage-failed')).toEqual([]);
    await h.close();
  });

  it('smoke plus gas in one building confirms (an exit gate in that building gets one command); two gas detectors do not', async () => {
    const h = fireHarness();
    await h.emit(gasHigh('gas-b2-101'));
    await h.emit(gasHigh('gas-b2-102'));
    expect(fires(h)).toEqual([]);
    await h.emit(smoke('smoke-b2-1'));
    expect(fires(h).map((a) => a.subject)).toEqual(['building:B2']);
    await waitFor('three raise actions', () => h.alarmEvents('alarm.action').length === 3);
    expect(sent(h)).toEqual(['door.always-open gate-b2', 'door.always-open gate-north', 'siren.on siren-b2']);
    await h.close();
  });

  it('resolving one fire leaves what another active fire holds: the exit gate stays open until the last fire is resolved', async () => {
    const h = fireHarness();
    for (const id of ['smoke-b1-1', 'smoke-b1-2', 'smoke-b2-1', 'smoke-b2-2']) await h.emit(smoke(id));
    const [b1, b2] = ['building:B1', 'building:B2'].map((s) => fires(h).find((a) => a.subject === s)!);
    await waitFor('raise actions of both fires', () => h.alarmEvents('alarm.action').length === 6);
    expect(h.engine.resolve(b1!.id, 'duty.zhang').ok).toBe(true);
    await waitFor('resolve actions of B1', () => h.alarmEvents('alarm.action').length === 9);
    const resumed = () => h.commands.filter((c) => c.name === 'door.resume').map((c) => c.deviceId).sort();
    expect(resumed()).toEqual(['gate-b1']);
    const skipped = h.alarmEvents('alarm.action').map((e) => e.data.action as { outcome: string; target: string; error?: string });
    expect(skipped.filter((a) => a.outcome === 'skipped')).toEqual([
      expect.objectContaining({ target: 'gate-north', error: 'still held by active alarm fire-confirmed (building:B2)' }),
    ]);
    expect(h.engine.resolve(b2!.id, 'duty.zhang').ok).toBe(true);
    await waitFor('resolve actions of B2', () => resumed().length === 3);
    expect(resumed()).toEqual(['gate-b1', 'gate-b2', 'gate-north']);
    expect(h.engine.activeAlarms().filter((a) => a.rule === 'linkage-failed')).toEqual([]);
    await h.close();
  });

  it('does not confirm across buildings, nor two alarms more than 2 min apart, nor one detector twice', async () => {
    const h = fireHarness();
    await h.emit(smoke('smoke-b1-1'));
    await h.emit(smoke('smoke-b2-1'));
    await h.emit(smoke('smoke-b1-1'));
    await h.advance(121_000);
    await h.emit(smoke('smoke-b1-2'));
    expect(fires(h)).toEqual([]);
    expect(h.commands).toEqual([]);
    await h.close();
  });

  it('without gate and I/O families the fire is still raised; its actions have no targets and nothing fails', async () => {
    const h = fireHarness([gasDetector, smokeFamily]);
    await h.emit(smoke('smoke-b1-1'));
    await h.emit(smoke('smoke-b1-2'));
    expect(fires(h)).toHaveLength(1);
    await h.settle();
    expect(h.commands).toEqual([]);
    expect(h.alarmEvents('alarm.action')).toEqual([]);
    expect(h.engine.activeAlarms().map((a) => a.rule)).toEqual(['fire-confirmed']);
    await h.close();
  });

  it('check-config: built-in rules naming unregistered families pass; a site rule naming one is still reported', () => {
    const notify = NotifyConfig.parse({});
    const alarms = AlarmsConfig.parse({ disable: ['fire-confirmed'] });
    expect(checkAlarmConfig({ rules: [], alarms: AlarmsConfig.parse({}), notify }, [smokeFamily])).toEqual([]);
    expect(checkAlarmConfig({ rules: [], alarms, notify }, [smokeFamily])).toEqual([]);
    const mine = Rule.parse({
      id: 'fire-confirmed',
      severity: 'critical',
      match: { type: 'smoke.alarm' },
      actions: [{ command: 'door.always-open', target: { scope: 'site', devices: { family: 'access-gate' } } }],
    });
    expect(checkAlarmConfig({ rules: [mine], alarms: AlarmsConfig.parse({}), notify }, [smokeFamily])).toEqual([
      {
        rawPath: ['rules', 0, 'actions', 0, 'target', 'devices', 'family'],
        message: 'unknown family "access-gate"; known families: smoke-detector',
      },
    ]);
  });
});
