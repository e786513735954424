/** Alarm engine: linkage actions when an alarm ends (`on: resolve`), and events a device reports late (historical). */
import { describe, expect, it } from 'vitest';
import { AlarmsConfig, Rule, type RuleInput } from '../core/rule-schema.js';
import { waitFor } from '../testing/wait-for.js';
import { rulesReport } from './alarm-cli.js';
import { startHarness } from './testing/engine-harness.js';

const high = (lel = 60) => ({ lel, lowThreshold: 20, highThreshold: 50, status: 'high' });
const normal = { lel: 0, lowThreshold: 20, highThreshold: 50, status: 'normal' };
const gasHigh = (deviceId: string, extra: { historical?: boolean; deviceTime?: Date } = {}) => ({
  deviceId,
  type: 'gas.alarm.high',
  kind: 'alarm' as const,
  severity: 'critical' as const,
  data: high(),
  ...extra,
});

/** Fan on while the gas is high, off again when the alarm ends (cleared by gas.normal or resolved). */
const fanRule = (timeout = '5s'): RuleInput => ({
  id: 'fan-while-high',
  severity: 'critical',
  match: { type: 'gas.alarm.high', devices: { family: 'gas-detector' } },
  clear: { type: 'gas.normal' },
  actions: [
    { command: 'valve.close', target: { scope: 'trigger' } },
    { on: 'resolve', command: 'valve.open', target: { scope: 'trigger' }, timeout },
  ],
});

const actions = (h: ReturnType<typeof startHarness>) =>
  h.alarmEvents('alarm.action').map((e) => e.data.action as { on: string; command: string; target: string; outcome: string });

describe('alarm engine: actions on resolve', () => {
  it('runs the resolve actions when the alarm is cleared by its condition, audited as on: resolve', async () => {
    const h = startHarness({ rules: [fanRule()] });
    await h.emit(gasHigh('gas-b1-101'));
    await h.settle();
    expect(h.commands).toEqual([{ deviceId: 'gas-b1-101', name: 'valve.close', args: {} }]);
    await h.emit({ deviceId: 'gas-b1-101', type: 'gas.normal', data: normal });
    await waitFor('the resolve action outcome', () => actions(h).length === 2);
    expect(h.commands.map((c) => c.name)).toEqual(['valve.close', 'valve.open']);
    expect(actions(h)).toEqual([
      { on: 'raise', command: 'valve.close', target: 'gas-b1-101', outcome: 'ok' },
      { on: 'resolve', command: 'valve.open', target: 'gas-b1-101', outcome: 'ok' },
    ]);
    const id = h.alarmOf(h.alarmEvents('alarm.raised')[0]!).id;
    // The action after the end is in the ended alarm's history, which stays cleared.
    expect(h.engine.get(id)?.history.map((x) => x.what)).toEqual(['raised', 'action', 'cleared', 'action']);
    expect(h.engine.get(id)?.state).toBe('cleared');
    await h.close();
  });

  it('runs them when a person resolves the alarm; never while it is still raised', async () => {
    const h = startHarness({ rules: [fanRule()] });
    await h.emit(gasHigh('gas-b1-101'));
    await h.emit(gasHigh('gas-b1-101')); // a repeat: no action
    const id = h.engine.activeAlarms()[0]!.id;
    expect(h.engine.acknowledge(id, 'wang.li').ok).toBe(true);
    await h.settle();
    expect(h.commands.map((c) => c.name)).toEqual(['valve.close']);
    expect(h.engine.resolve(id, 'wang.li', 'fan checked').ok).toBe(true);
    await waitFor('the resolve action outcome', () => actions(h).length === 2);
    expect(h.commands.map((c) => c.name)).toEqual(['valve.close', 'valve.open']);
    await h.close();
  });

  it('a failed or unanswered resolve action raises linkage-failed like a raise action', async () => {
    let answer: 'ok' | 'fail' | 'hang' = 'ok';
    const h = startHarness({
      rules: [fanRule('50ms')],
      execute: (_d, name) =>
        name === 'valve.close' || answer === 'ok'
          ? Promise.resolve({ ok: true })
          : answer === 'fail'
            ? Promise.resolve({ ok: false, error: 'relay stuck' })
            : new Promise(() => {}),
    });
    answer = 'fail';
    await h.emit(gasHigh('gas-b1-101'));
    await h.emit({ deviceId: 'gas-b1-101', type: 'gas.normal', data: normal });
    answer = 'hang';
    await h.emit(gasHigh('gas-b2-101'));
    await h.emit({ deviceId: 'gas-b2-101', type: 'gas.normal', data: normal });
    const failed = await waitFor('two linkage-failed alarms', () => {
      const l = h.engine.activeAlarms().filter((a) => a.rule === 'linkage-failed');
      return l.length === 2 && l;
    });
    const bySubject = [...failed].sort((a, b) => a.subject.localeCompare(b.subject));
    expect(bySubject.map((a) => [a.subject, a.trigger.data.command, a.trigger.data.on, a.trigger.data.outcome])).toEqual([
      ['gas-b1-101', 'valve.open', 'resolve', 'failed'],
      ['gas-b2-101', 'valve.open', 'resolve', 'timeout'],
    ]);
    expect(actions(h).filter((a) => a.on === 'resolve').map((a) => a.outcome)).toEqual(['failed', 'timeout']);
    await h.close();
  });

  it('`gateway rules` lists the raise and the resolve actions apart', () => {
    const report = rulesReport({ alarms: AlarmsConfig.parse({ builtinRules: false }), rules: [Rule.parse(fanRule())] }, false);
    // The cameras' video linkage on every major or critical alarm is listed with the rule's own actions.
    expect(report).toContain('actions valve.close@trigger, camera.link@watchers; on resolve valve.open@trigger');
  });
});

describe('alarm engine: events the device reports late (historical)', () => {
  it('records a match as alarm.suppressed (reason historical): no alarm, no linkage, no window, no clear', async () => {
    const h = startHarness({
      builtin: true,
      rules: [
        {
          id: 'two-kitchens',
          severity: 'critical',
          match: { type: 'gas.alarm.high', devices: { family: 'gas-detector' } },
          subject: 'building',
          count: { n: 2, within: '2m', distinctDevices: true },
          actions: [{ command: 'valve.close', target: { scope: 'building', devices: { family: 'gas-detector' } } }],
        },
      ],
    });
    const deviceTime = new Date('2026-11-23T03:10:00Z');
    await h.emit(gasHigh('gas-boiler-1', { historical: true, deviceTime }));
    await h.emit(gasHigh('gas-b1-101', { historical: true, deviceTime }));
    expect(h.alarmEvents('alarm.raised')).toHaveLength(0);
    expect(h.commands).toEqual([]);
    const suppressed = h.alarmEvents('alarm.suppressed').map((e) => e.data);
    expect(suppressed).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ rule: 'gas-high', subject: 'gas-boiler-1', reason: 'historical' }),
        expect.objectContaining({ rule: 'two-kitchens', subject: 'building:B1', reason: 'historical' }),
      ]),
    );
    expect(suppressed[0]?.trigger).toMatchObject({ type: 'gas.alarm.high', deviceTime: deviceTime.toISOString() });
    // The late event did not enter the window: one live detector is not two.
    await h.emit(gasHigh('gas-b1-102'));
    expect(h.engine.activeAlarms().map((a) => a.rule)).toEqual(['gas-high']);
    // A late "normal" does not clear the live alarm (it may be older than it).
    await h.emit({ deviceId: 'gas-b1-102', type: 'gas.normal', data: normal, historical: true });
    expect(h.engine.activeAlarms().map((a) => a.subject)).toEqual(['gas-b1-102']);
    // The late events are journaled as such.
    expect(h.events.filter((e) => e.historical).map((e) => e.type)).toEqual([
      'gas.alarm.high',
      'gas.alarm.high',
      'gas.normal',
    ]);
    await h.close();
  });
});
