import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../core/clock.js';
import { startHarness } from './testing/engine-harness.js';

const high = (lel = 60) => ({ lel, lowThreshold: 20, highThreshold: 50, status: 'high' });
const normal = { lel: 0, lowThreshold: 20, highThreshold: 50, status: 'normal' };

describe('alarm engine', () => {
  it('raises one alarm per rule and subject, counts repeats, closes the valve, clears on gas.normal (built-in rules)', async () => {
    const h = startHarness({ builtin: true });
    await h.emit({
      deviceId: 'gas-boiler-1',
      type: 'gas.alarm.high',
      kind: 'alarm',
      severity: 'critical',
      data: high(),
    });
    const [raised] = h.alarmEvents('alarm.raised');
    expect(raised).toBeDefined();
    expect(raised?.kind).toBe('alarm');
    expect(raised?.severity).toBe('critical');
    expect(h.alarmOf(raised!)).toMatchObject({
      rule: 'gas-high',
      subject: 'gas-boiler-1',
      state: 'raised',
      count: 1,
    });
    expect(h.alarmOf(raised!).message).toContain('燃气浓度超高限：gas-boiler-1（plant boiler-room） 60 %LEL');
    // Linkage through the executor: the valve of a detector tagged `valve`, outcome recorded.
    expect(h.commands).toEqual([{ deviceId: 'gas-boiler-1', name: 'valve.close', args: {} }]);
    await h.settle();
    const action = h.alarmEvents('alarm.action')[0];
    expect(action?.data.action).toMatchObject({
      command: 'valve.close',
      target: 'gas-boiler-1',
      outcome: 'ok',
    });

    // The same condition again: a repeat, not a new alarm.
    await h.emit({
      deviceId: 'gas-boiler-1',
      type: 'gas.alarm.high',
      kind: 'alarm',
      severity: 'critical',
      data: high(70),
    });
    expect(h.alarmEvents('alarm.raised')).toHaveLength(1);
    expect(h.engine.activeAlarms()).toHaveLength(1);
    expect(h.engine.activeAlarms()[0]?.count).toBe(2);

    // Back to normal: the rule says gas.normal clears it.
    await h.emit({ deviceId: 'gas-boiler-1', type: 'gas.normal', data: normal });
    expect(h.alarmEvents('alarm.cleared')).toHaveLength(1);
    expect(h.engine.activeAlarms()).toHaveLength(0);
    const stored = h.engine.get(h.alarmOf(raised!).id);
    expect(stored?.state).toBe('cleared');
    expect(stored?.history.map((x) => x.what)).toEqual(['raised', 'action', 'repeated', 'cleared']);
    // A kitchen detector without a valve relay: alarm, but no valve command.
    await h.emit({
      deviceId: 'gas-b1-101',
      type: 'gas.alarm.high',
      kind: 'alarm',
      severity: 'critical',
      data: high(),
    });
    expect(h.alarmEvents('alarm.raised')).toHaveLength(2);
    expect(h.commands).toHaveLength(1);
    await h.close();
  });

  it('thresholds on event data, and clear by condition', async () => {
    const h = startHarness({
      rules: [
        {
          id: 'lel-over-30',
          severity: 'major',
          match: {
            type: 'gas.reading',
            devices: { family: 'gas-detector', building: 'B1' },
            where: { lel: { gte: 30 } },
          },
          clear: 'condition',
        },
      ],
    });
    await h.emit({
      deviceId: 'gas-b1-101',
      type: 'gas.reading',
      kind: 'telemetry',
      data: { ...normal, lel: 29.9 },
    });
    await h.emit({
      deviceId: 'gas-b2-101',
      type: 'gas.reading',
      kind: 'telemetry',
      data: { ...normal, lel: 80 },
    });
    expect(h.alarmEvents()).toHaveLength(0);
    await h.emit({
      deviceId: 'gas-b1-101',
      type: 'gas.reading',
      kind: 'telemetry',
      data: { ...normal, lel: 30 },
    });
    expect(h.alarmEvents('alarm.raised')).toHaveLength(1);
    // Telemetry repeats are counted silently.
    await h.emit({
      deviceId: 'gas-b1-101',
      type: 'gas.reading',
      kind: 'telemetry',
      data: { ...normal, lel: 31 },
    });
    expect(h.alarmEvents()).toHaveLength(1);
    expect(h.engine.activeAlarms()[0]?.count).toBe(2);
    await h.emit({
      deviceId: 'gas-b1-101',
      type: 'gas.reading',
      kind: 'telemetry',
      data: { ...normal, lel: 5 },
    });
    expect(h.alarmEvents('alarm.cleared')).toHaveLength(1);
    await h.close();
  });

  it('combination across devices: two detectors in one building within 60 s', async () => {
    const h = startHarness({
      rules: [
        {
          id: 'confirmed-gas-leak',
          severity: 'critical',
          match: { type: 'gas.alarm.*', devices: { family: 'gas-detector' } },
          subject: 'building',
          count: { n: 2, within: '60s', distinctDevices: true },
          latch: true,
        },
      ],
    });
    const ev = (deviceId: string) =>
      h.emit({ deviceId, type: 'gas.alarm.low', kind: 'alarm', severity: 'major', data: high(25) });
    await ev('gas-b1-101');
    await ev('gas-b1-101'); // the same device twice is not a combination
    await ev('gas-b2-101'); // another building
    expect(h.alarmEvents()).toHaveLength(0);
    await h.advance(61_000); // the first B1 event leaves the window
    await ev('gas-b1-102');
    expect(h.alarmEvents()).toHaveLength(0);
    await h.advance(30_000);
    await ev('gas-b1-101');
    const raised = h.alarmEvents('alarm.raised');
    expect(raised).toHaveLength(1);
    expect(h.alarmOf(raised[0]!)).toMatchObject({ subject: 'building:B1', latch: true });
    expect(new Set(h.alarmOf(raised[0]!).devices)).toEqual(new Set(['gas-b1-101', 'gas-b1-102']));
    // Latched: gas.normal does not clear it; only a person does.
    await h.emit({ deviceId: 'gas-b1-101', type: 'gas.normal', data: normal });
    expect(h.engine.activeAlarms()).toHaveLength(1);
    await h.close();
  });

  it('a pending `for` timer survives a restart at second 20 and fires at second 30, once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'alarm-for-'));
    const journalPath = join(dir, 'gw.db');
    const clock = new ManualClock(Date.parse('2026-11-23T09:30:00Z'));
    const t0 = clock.now();
    const rules = [
      {
        id: 'gas-low-30s',
        severity: 'major' as const,
        match: { type: 'gas.alarm.low', devices: { family: 'gas-detector' } },
        for: '30s',
        clear: { type: 'gas.normal' },
      },
    ];
    const a = startHarness({ rules, clock, journalPath });
    await a.emit({
      deviceId: 'gas-b1-101',
      type: 'gas.alarm.low',
      kind: 'alarm',
      severity: 'major',
      data: high(25),
    });
    expect(a.engine.pendingTimers()).toMatchObject([{ rule: 'gas-low-30s', dueAt: t0 + 30_000 }]);
    await a.advance(20_000);
    expect(a.alarmEvents()).toHaveLength(0);
    await a.close(); // the gateway stops at second 20

    const b = startHarness({ rules, clock, journalPath });
    expect(b.engine.pendingTimers()).toMatchObject([{ rule: 'gas-low-30s', dueAt: t0 + 30_000 }]);
    // The detector is still in alarm after the restart: the driver reports it again; no new timer.
    await b.emit({
      deviceId: 'gas-b1-101',
      type: 'gas.alarm.low',
      kind: 'alarm',
      severity: 'major',
      data: high(26),
    });
    await b.advance(9_999);
    expect(b.alarmEvents()).toHaveLength(0);
    await b.advance(1);
    expect(b.alarmEvents('alarm.raised')).toHaveLength(1);
    expect(clock.now()).toBe(t0 + 30_000);
    expect(b.engine.pendingTimers()).toHaveLength(0);
    await b.advance(120_000);
    await b.close();

    // Once more from the database: exactly one raised event journaled, no pending timer left.
    const c = startHarness({ rules, clock, journalPath });
    expect(c.journal.query({ type: 'alarm.raised' })).toHaveLength(1);
    expect(c.engine.pendingTimers()).toHaveLength(0);
    expect(c.engine.activeAlarms()).toHaveLength(1);
    await c.advance(60_000);
    expect(c.journal.query({ type: 'alarm.raised' })).toHaveLength(1);
    await c.close();
  });

  it('a `for` timer is cancelled when the condition stops holding', async () => {
    const h = startHarness({
      rules: [
        {
          id: 'lel-20-for-10s',
          severity: 'major',
          match: { type: 'gas.reading', where: { lel: { gte: 20 } } },
          for: '10s',
        },
      ],
    });
    await h.emit({
      deviceId: 'gas-b1-101',
      type: 'gas.reading',
      kind: 'telemetry',
      data: { ...normal, lel: 25 },
    });
    await h.advance(5_000);
    await h.emit({
      deviceId: 'gas-b1-101',
      type: 'gas.reading',
      kind: 'telemetry',
      data: { ...normal, lel: 2 },
    });
    await h.advance(60_000);
    expect(h.alarmEvents()).toHaveLength(0);
    expect(h.engine.pendingTimers()).toHaveLength(0);
    await h.close();
  });

  it('rules seen at ingest (as in the gateway): a window entry and a `for` timer are written with the commit of the event that starts them, none of their own', async () => {
    const h = startHarness({
      atIngest: true,
      rules: [
        {
          id: 'two-in-a-building',
          severity: 'critical',
          match: { type: 'gas.alarm.*', devices: { family: 'gas-detector' } },
          subject: 'building',
          count: { n: 2, within: '60s', distinctDevices: true },
        },
        { id: 'low-for-30s', severity: 'major', match: { type: 'gas.alarm.low' }, for: '30s', clear: { type: 'gas.normal' } },
      ],
    });
    const rows = (table: string) => (h.journal.db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
    // A later hook of the same transactions: what the engine's writes left there, per event type.
    const inTx: string[] = [];
    h.journal.addTxHook((batch) => {
      for (const { env } of batch) inTx.push(`${env.type}: window ${rows('alarm_window')}, pending ${rows('alarm_pending')}`);
    });
    h.pipeline.ingest({ deviceId: 'gas-b1-101', type: 'gas.alarm.low', kind: 'alarm', severity: 'major', data: high(25) });
    expect([rows('alarm_window'), rows('alarm_pending')]).toEqual([0, 0]); // nothing committed on its own
    await h.settle();
    h.pipeline.ingest({ deviceId: 'gas-b1-101', type: 'gas.normal', kind: 'event', severity: 'info', data: normal });
    expect(rows('alarm_pending')).toBe(1); // the cancelled timer's row goes with gas.normal's commit
    await h.settle();
    expect(inTx).toEqual(['gas.alarm.low: window 1, pending 1', 'gas.normal: window 1, pending 0']);
    expect(h.engine.pendingTimers()).toHaveLength(0);
    await h.close();
  });

  it('rules seen at ingest: a reading that repeats an active alarm has its count written with the reading\'s commit, none of its own', async () => {
    const h = startHarness({
      atIngest: true,
      rules: [
        {
          id: 'lel-over-30',
          severity: 'major',
          match: { type: 'gas.reading', where: { lel: { gte: 30 } } },
          clear: 'condition',
        },
      ],
    });
    const reading = (lel: number) =>
      h.pipeline.ingest({ deviceId: 'gas-b1-101', type: 'gas.reading', kind: 'telemetry', severity: 'info', data: { ...normal, lel } });
    const storedCount = () =>
      (h.journal.db.prepare('SELECT body FROM alarms WHERE active = 1').all() as { body: string }[]).map(
        (r) => (JSON.parse(r.body) as { count: number }).count,
      );
    const inTx: string[] = [];
    // A later hook of the same transactions: the alarm's count there, after the engine's writes.
    h.journal.addTxHook((batch) => inTx.push(`${batch.map((r) => r.env.type).join(' ')}: count ${storedCount().join()}`));
    reading(40);
    await h.settle();
    expect(storedCount()).toEqual([1]);
    reading(45);
    reading(50);
    expect(h.engine.activeAlarms()[0]?.count).toBe(3);
    expect(storedCount()).toEqual([1]); // nothing committed on its own
    await h.settle();
    expect(storedCount()).toEqual([3]);
    expect(inTx).toEqual(['gas.reading alarm.raised: count 1', 'gas.reading gas.reading: count 3']);
    await h.close();
  });

  it('escalates while unacknowledged; acknowledging stops it and records who', async () => {
    const h = startHarness({
      builtin: true,
      tiers: [
        { name: 'duty', afterMs: 0 },
        { name: 'supervisor', afterMs: 5 * 60_000 },
        { name: 'manager', afterMs: 15 * 60_000 },
      ],
    });
    await h.emit({
      deviceId: 'gas-b1-101',
      type: 'gas.alarm.low',
      kind: 'alarm',
      severity: 'major',
      data: high(25),
    });
    const id = h.engine.activeAlarms()[0]!.id;
    expect(h.notified).toEqual([{ alarm: id, tier: 0 }]);
    await h.advance(5 * 60_000 - 1);
    expect(h.alarmEvents('alarm.escalated')).toHaveLength(0);
    await h.advance(1);
    const esc = h.alarmEvents('alarm.escalated');
    expect(esc).toHaveLength(1);
    expect(esc[0]?.data).toMatchObject({ tier: 1, tierName: 'supervisor' });
    expect(h.notified).toEqual([
      { alarm: id, tier: 0 },
      { alarm: id, tier: 1 },
    ]);
    const r = h.engine.acknowledge(id, 'wang.li', 'on my way');
    expect(r.ok).toBe(true);
    await h.settle();
    expect(h.engine.acknowledge(id, 'someone')).toMatchObject({ ok: false });
    await h.advance(60 * 60_000);
    expect(h.alarmEvents('alarm.escalated')).toHaveLength(1);
    const ack = h.alarmEvents('alarm.acknowledged')[0];
    expect(ack?.data).toMatchObject({ by: 'wang.li', note: 'on my way' });
    expect(h.alarmOf(ack!).acknowledged).toMatchObject({ by: 'wang.li' });
    // Resolved by a person: recorded too.
    expect(h.engine.resolve(id, 'wang.li', 'valve checked').ok).toBe(true);
    await h.settle();
    expect(h.engine.get(id)).toMatchObject({
      state: 'resolved',
      active: false,
      resolved: { by: 'wang.li', note: 'valve checked' },
    });
    expect(h.engine.get(id)?.history.map((x) => x.what)).toEqual([
      'raised',
      'escalated',
      'acknowledged',
      'resolved',
    ]);
    await h.close();
  });

  it('a failed or timed-out linkage action is recorded and raises its own alarm', async () => {
    let answer: 'fail' | 'hang' = 'fail';
    const h = startHarness({
      rules: [
        {
          id: 'valve-on-high',
          severity: 'critical',
          match: { type: 'gas.alarm.high', devices: { family: 'gas-detector' } },
          actions: [{ command: 'valve.close', timeout: '50ms' }],
        },
      ],
      execute: (): Promise<{ ok: false; error: string }> =>
        answer === 'fail'
          ? Promise.resolve({ ok: false, error: 'model x has no valve relay' })
          : new Promise(() => {}),
    });
    await h.emit({
      deviceId: 'gas-b1-101',
      type: 'gas.alarm.high',
      kind: 'alarm',
      severity: 'critical',
      data: high(),
    });
    await h.settle();
    const action = h.alarmEvents('alarm.action')[0];
    expect(action?.data.action).toMatchObject({
      command: 'valve.close',
      target: 'gas-b1-101',
      outcome: 'failed',
      error: 'model x has no valve relay',
    });
    const failed = h.engine.activeAlarms().find((a) => a.rule === 'linkage-failed');
    expect(failed).toMatchObject({ subject: 'gas-b1-101', severity: 'critical' });
    expect(failed?.message).toContain('联动失败：gas-b1-101 执行 valve.close 未成功');

    answer = 'hang';
    await h.emit({
      deviceId: 'gas-b2-101',
      type: 'gas.alarm.high',
      kind: 'alarm',
      severity: 'critical',
      data: high(),
    });
    await new Promise((r) => setTimeout(r, 120));
    await h.settle();
    const timedOut = h
      .alarmEvents('alarm.action')
      .find((e) => (e.data.action as { target: string }).target === 'gas-b2-101');
    expect(timedOut?.data.action).toMatchObject({ outcome: 'timeout' });
    expect(
      h.engine
        .activeAlarms()
        .filter((a) => a.rule === 'linkage-failed')
        .map((a) => a.subject),
    ).toEqual(['gas-b1-101', 'gas-b2-101']);
    await h.close();
  });

  it('suppresses alarms of a device in a maintenance window', async () => {
    const clock = new ManualClock(Date.parse('2026-11-23T09:30:00Z'));
    const h = startHarness({
      builtin: true,
      clock,
      alarms: {
        maintenance: [
          { devices: { id: 'gas-b1-101' }, from: '2026-11-23T09:00:00Z', until: '2026-11-23T10:00:00Z' },
        ],
      },
    });
    await h.emit({
      deviceId: 'gas-b1-101',
      type: 'gas.alarm.high',
      kind: 'alarm',
      severity: 'critical',
      data: high(),
    });
    await h.emit({
      deviceId: 'gas-b1-101',
      type: 'gas.alarm.high',
      kind: 'alarm',
      severity: 'critical',
      data: high(),
    });
    expect(h.alarmEvents('alarm.suppressed')).toHaveLength(1);
    expect(h.alarmEvents('alarm.raised')).toHaveLength(0);
    await h.emit({
      deviceId: 'gas-b1-102',
      type: 'gas.alarm.high',
      kind: 'alarm',
      severity: 'critical',
      data: high(),
    });
    expect(h.alarmEvents('alarm.raised')).toHaveLength(1);
    await h.advance(31 * 60_000); // window over
    await h.emit({
      deviceId: 'gas-b1-101',
      type: 'gas.alarm.high',
      kind: 'alarm',
      severity: 'critical',
      data: high(),
    });
    expect(h.alarmEvents('alarm.raised')).toHaveLength(2);
    await h.close();
  });
});
