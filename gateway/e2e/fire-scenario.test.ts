/**
 * The fire and emergency scenario end to end: the real gateway against the compound simulator
 * started from the same site file, every device speaking its real protocol on loopback (LoRaWAN
 * uplinks as ChirpStack v4 MQTT events into the embedded broker, ISAPI gates with Digest, a
 * Modbus TCP DI/DO module). What the gates and sirens do is read from their simulators, never
 * from the gateway's belief; the alarms are read from the duty console's live feed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { feedClient } from '../alarms/testing/gateway-harness.js';
import type { Alarm } from '../core/alarm-types.js';
import { waitFor } from '../testing/wait-for.js';
import {
  CONSOLE_PASSWORD,
  CONSOLE_USER,
  doorMode,
  type Scenario,
  scenarioSite,
  sirenOn,
  startScenario,
} from './testing/scenario.js';

const alarmOf = (e: { data: Record<string, unknown> }) => e.data.alarm as Alarm;
/** The active alarms as the console lists them now: a fresh snapshot asked for on the feed. */
async function activeOnConsole(feed: Awaited<ReturnType<typeof feedClient>>) {
  const snapshots = () => feed.messages.filter((m) => m.type === 'snapshot');
  const before = snapshots().length;
  feed.ws.send(JSON.stringify({ op: 'list' }));
  return (await waitFor('a fresh snapshot', () => snapshots()[before])).alarms ?? [];
}
const actionOf = (e: { data: Record<string, unknown> }) =>
  e.data.action as { command: string; target: string; outcome: string; on: string };

describe('fire and emergency scenario (real gateway, compound simulator)', () => {
  let s: Scenario;
  let feed: Awaited<ReturnType<typeof feedClient>>;
  beforeAll(async () => {
    s = await startScenario(await scenarioSite());
    feed = await feedClient(s.gw.http.url, CONSOLE_USER, CONSOLE_PASSWORD);
    await waitFor('the feed snapshot', () => feed.messages.find((m) => m.type === 'snapshot'));
  }, 30_000);
  afterAll(async () => {
    feed?.close();
    await s?.close();
  });

  it('two smoke detectors of B3: B3 gates and the exit gate held open, B3 siren on; resolved: all back to normal', async () => {
    for (const gate of ['gate-b3-east', 'gate-b3-west', 'gate-north', 'gate-b1']) {
      expect(await doorMode(s, gate)).toBe('normal');
    }
    expect(await sirenOn(s, 'siren-b3-lobby')).toBe(false);

    await s.control('smoke-b3-hall', { alarm: true });
    const first = await feed.waitEvent('alarm.raised', 'smoke-alarm');
    expect(alarmOf(first).message).toBe('烟感报警：smoke-b3-hall（B3 hall）');
    // One detector is no confirmed fire: nothing is opened.
    expect(feed.alarmEvents('alarm.raised', 'fire-confirmed')).toEqual([]);

    await s.control('smoke-b3-stairs', { alarm: true });
    const fire = await feed.waitEvent('alarm.raised', 'fire-confirmed');
    expect(fire.severity).toBe('critical');
    expect(alarmOf(fire)).toMatchObject({ subject: 'building:B3', latch: true, state: 'raised' });
    expect(alarmOf(fire).message).toBe('火警确认：B3 两个探测器报警（最近：smoke-b3-stairs stairs）');

    // The terminals themselves are held open; the siren's coil is on at the module.
    for (const gate of ['gate-b3-east', 'gate-b3-west', 'gate-north']) {
      await waitFor(`${gate} always open on its terminal`, async () => (await doorMode(s, gate)) === 'always-open');
    }
    await waitFor('the B3 siren coil on', () => sirenOn(s, 'siren-b3-lobby'));
    // Every raise action done (and recorded), then: B1's gate and siren were left alone.
    const raised = await waitFor('four raise actions', () => {
      const acts = feed.alarmEvents('alarm.action', 'fire-confirmed').map(actionOf);
      return acts.length === 4 ? acts : undefined;
    });
    expect(raised.map((a) => `${a.command}@${a.target}:${a.outcome}`).sort()).toEqual([
      'door.always-open@gate-b3-east:ok',
      'door.always-open@gate-b3-west:ok',
      'door.always-open@gate-north:ok',
      'siren.on@siren-b3-lobby:ok',
    ]);
    expect(await doorMode(s, 'gate-b1')).toBe('normal');
    expect(await sirenOn(s, 'siren-b1-lobby')).toBe(false);

    // The duty officer resolves the fire on the console.
    const answer = await feed.request({ op: 'resolve', alarmId: alarmOf(fire).id, note: '消防队确认已扑灭' });
    expect(answer).toMatchObject({ ok: true });
    const resolved = await feed.waitEvent('alarm.resolved', 'fire-confirmed');
    expect(alarmOf(resolved).resolved).toMatchObject({ by: CONSOLE_USER });
    for (const gate of ['gate-b3-east', 'gate-b3-west', 'gate-north']) {
      await waitFor(`${gate} back to normal on its terminal`, async () => (await doorMode(s, gate)) === 'normal');
    }
    await waitFor('the B3 siren coil off', async () => !(await sirenOn(s, 'siren-b3-lobby')));
    const onResolve = await waitFor('four resolve actions', () => {
      const acts = feed.alarmEvents('alarm.action', 'fire-confirmed').map(actionOf).filter((a) => a.on === 'resolve');
      return acts.length === 4 ? acts : undefined;
    });
    expect(onResolve.every((a) => a.outcome === 'ok')).toBe(true);
    expect(feed.alarmEvents('alarm.raised', 'linkage-failed')).toEqual([]);
  });

  it('SOS button: a latched critical alarm on the console that stays after the button cancels, until resolved', async () => {
    await s.control('sos-b3-lobby', { press: true });
    const raised = await feed.waitEvent('alarm.raised', 'button-pressed');
    expect(raised.severity).toBe('critical');
    expect(alarmOf(raised)).toMatchObject({ subject: 'sos-b3-lobby', latch: true, state: 'raised' });
    expect(alarmOf(raised).message).toBe('紧急求助报警：sos-b3-lobby（B3 lobby）');
    await waitFor('the siren of the button zone on', () => sirenOn(s, 'siren-b3-lobby'));

    await s.control('sos-b3-lobby', { cancel: true });
    await waitFor('the cancel reached the gateway', () =>
      s.gw.journal.query({ device: 'sos-b3-lobby', type: 'button.cancelled' }).length === 1,
    );
    // Still active on the console (a fresh list from the feed), nothing ended it, the siren still sounds.
    const list = await activeOnConsole(feed);
    expect(list.find((a) => a.id === alarmOf(raised).id)).toMatchObject({ rule: 'button-pressed', state: 'raised' });
    expect(feed.alarmEvents('alarm.cleared', 'button-pressed')).toEqual([]);
    expect(feed.alarmEvents('alarm.resolved', 'button-pressed')).toEqual([]);
    expect(await sirenOn(s, 'siren-b3-lobby')).toBe(true);

    // A latched alarm is reset by a person on site, who says what was found: without a note it is refused.
    expect(await feed.request({ op: 'resolve', alarmId: alarmOf(raised).id })).toMatchObject({ ok: false });
    expect(await feed.request({ op: 'resolve', alarmId: alarmOf(raised).id, note: '住户误按，已到场确认' })).toMatchObject({ ok: true });
    await feed.waitEvent('alarm.resolved', 'button-pressed');
    await waitFor('the siren off once resolved', async () => !(await sirenOn(s, 'siren-b3-lobby')));
    const after = await activeOnConsole(feed);
    expect(after.some((a) => a.id === alarmOf(raised).id)).toBe(false);
  });
});
