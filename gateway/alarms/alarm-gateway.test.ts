/**
 * The alarm system in the real gateway, against the gas-detector simulator over Modbus TCP:
 * the console feed, valve linkage, `for` across a restart, escalation with SMS to the modem
 * simulator, acknowledgement with the user's identity.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGasSimulatorTcp } from '../../simulators/gas-detector/index.js';
import { type RunningGsmModem, startGsmModemSimulator } from '../../simulators/gsm-modem/index.js';
import { alarmsReport } from './alarm-cli.js';
import type { Alarm } from '../core/alarm-types.js';
import { ManualClock } from '../core/clock.js';
import {
  bootGateway,
  CONSOLE_USER,
  feedClient,
  siteConfig,
  startGasSim,
  waitFor,
} from './testing/gateway-harness.js';

const alarmOf = (e: { data: Record<string, unknown> }) => e.data.alarm as Alarm;

describe('alarms in the running gateway (gas simulator over Modbus TCP)', () => {
  let sim: RunningGasSimulatorTcp;
  beforeAll(async () => {
    sim = await startGasSim();
  });
  afterAll(async () => {
    await sim?.close();
  });

  it('high gas: critical alarm on the feed and the valve relay closes; back to normal clears it', async () => {
    sim.sim.setLel(1, 0);
    sim.sim.setValve(1, false);
    const gw = await bootGateway(siteConfig(sim));
    const feed = await feedClient(gw.http.url);
    try {
      await waitFor('login and snapshot', () => feed.messages.find((m) => m.type === 'snapshot'));
      expect(feed.messages.find((m) => m.type === 'login')).toMatchObject({ ok: true, user: CONSOLE_USER });
      await waitFor(
        'the detector online',
        () => gw.journal.query({ device: 'gas-boiler-1', type: 'gas.reading' }).length > 0,
      );

      sim.sim.setLel(1, 60); // above the high threshold (50 %LEL)
      const raised = await feed.waitEvent('alarm.raised', 'gas-high');
      expect(raised.kind).toBe('alarm');
      expect(raised.severity).toBe('critical');
      expect(alarmOf(raised)).toMatchObject({
        rule: 'gas-high',
        subject: 'gas-boiler-1',
        state: 'raised',
        severity: 'critical',
      });
      await waitFor('valve relay closed on the simulator', () => sim.sim.getValve(1));
      const action = await feed.waitEvent('alarm.action', 'gas-high');
      expect(action.data.action).toMatchObject({
        command: 'valve.close',
        target: 'gas-boiler-1',
        outcome: 'ok',
      });
      // Journaled like every event (and so in the uplink's alarm lane).
      expect(gw.journal.query({ type: 'alarm.raised' }).map((e) => e.id)).toContain(raised.id);

      sim.sim.setLel(1, 0);
      const cleared = await feed.waitEvent('alarm.cleared', 'gas-high');
      expect(alarmOf(cleared)).toMatchObject({ id: alarmOf(raised).id, state: 'cleared', active: false });
      expect(gw.alarms.engine.activeAlarms().filter((a) => a.rule === 'gas-high')).toHaveLength(0);
      // The valve stays closed until a person reopens it.
      expect(sim.sim.getValve(1)).toBe(true);
      // Order on the feed: raised before action before cleared.
      const order = feed.alarmEvents().map((e) => e.type);
      expect(order.indexOf('alarm.raised')).toBeLessThan(order.indexOf('alarm.cleared'));
    } finally {
      feed.close();
      await gw.close();
      sim.sim.setValve(1, false);
    }
  });

  it('a `for: 30s` rule across a gateway restart at second 20 fires at second 30, once', async () => {
    sim.sim.setLel(2, 0);
    const clock = new ManualClock();
    const t0 = clock.now();
    const extra = {
      alarms: { disable: ['gas-low'] },
      rules: [
        {
          id: 'gas-low-30s',
          severity: 'major',
          match: { type: 'gas.alarm.low', devices: { family: 'gas-detector' } },
          for: '30s',
          clear: { type: 'gas.normal' },
        },
      ],
    };
    const config = siteConfig(sim, extra);
    const raisedCount = (gw: Awaited<ReturnType<typeof bootGateway>>) =>
      gw.journal.query({ type: 'alarm.raised' }).filter((e) => alarmOf(e).rule === 'gas-low-30s').length;

    const gw1 = await bootGateway(config, { clock });
    await waitFor(
      'the detector online',
      () => gw1.journal.query({ device: 'gas-b1-101', type: 'gas.reading' }).length > 0,
    );
    sim.sim.setLel(2, 25); // above the low threshold (20), below high
    await waitFor('the pending timer', () =>
      gw1.alarms.engine.pendingTimers().find((p) => p.rule === 'gas-low-30s'),
    );
    clock.advance(20_000);
    expect(raisedCount(gw1)).toBe(0);
    await gw1.close(); // restart at second 20

    const gw2 = await bootGateway(config, { clock });
    try {
      expect(gw2.alarms.engine.pendingTimers()).toMatchObject([{ rule: 'gas-low-30s', dueAt: t0 + 30_000 }]);
      await waitFor(
        'a poll after the restart',
        () => gw2.journal.query({ device: 'gas-b1-101', type: 'gas.reading' }).length > 1,
      );
      clock.advance(9_999);
      await gw2.pipeline.committed();
      expect(raisedCount(gw2)).toBe(0);
      clock.advance(1); // second 30
      await waitFor('alarm.raised', () => raisedCount(gw2) === 1);
      const raised = gw2.journal
        .query({ type: 'alarm.raised' })
        .find((e) => alarmOf(e).rule === 'gas-low-30s')!;
      expect(alarmOf(raised).raisedAt).toBe(new Date(t0 + 30_000).toISOString());
      clock.advance(5 * 60_000);
      await new Promise((r) => setTimeout(r, 300)); // more polls, still in alarm
      await gw2.pipeline.committed();
      expect(raisedCount(gw2)).toBe(1);
      expect(gw2.alarms.engine.pendingTimers()).toHaveLength(0);
    } finally {
      await gw2.close();
      sim.sim.setLel(2, 0);
    }
    // `gateway alarms` reads the same state from the database.
    const report = alarmsReport(config.journal, 5, false);
    expect(report).toMatch(/^1 active alarm\n.*major\s+raised\s+x\d+\s+gas-low-30s\s+gas-b1-101/);
  });

  describe('escalation, SMS and acknowledgement', () => {
    let modem: RunningGsmModem;
    beforeAll(async () => {
      modem = await startGsmModemSimulator();
    });
    afterAll(async () => {
      await modem?.close();
    });

    it('escalates to the next tier (SMS) while unacknowledged; a modem error is retried and reported; ack stops it and records who', async () => {
      sim.sim.setLel(2, 0);
      const clock = new ManualClock();
      const config = siteConfig(sim, {
        notify: {
          channels: [
            {
              type: 'sms',
              id: 'duty-sms',
              port: modem.path,
              to: ['+8613800000009'],
              retryDelay: '20ms',
              timeout: '2s',
            },
          ],
          tiers: [
            { name: 'duty', channels: [] },
            { name: 'supervisor', after: '5m', channels: ['duty-sms'] },
            { name: 'manager', after: '15m', channels: ['duty-sms'] },
          ],
        },
      });
      const gw = await bootGateway(config, { clock });
      const feed = await feedClient(gw.http.url);
      try {
        await waitFor('snapshot', () => feed.messages.find((m) => m.type === 'snapshot'));
        sim.sim.setLel(2, 30); // low alarm on a kitchen detector: major
        const raised = await feed.waitEvent('alarm.raised', 'gas-low');
        const id = alarmOf(raised).id;
        expect(modem.sms).toHaveLength(0); // tier 0: the console only

        modem.failNext(1, 500);
        clock.advance(5 * 60_000);
        const esc = await feed.waitEvent('alarm.escalated', 'gas-low');
        expect(esc.data).toMatchObject({ tier: 1, tierName: 'supervisor' });
        const notified = await feed.waitEvent('alarm.notified', 'gas-low');
        expect(notified.data.notification).toMatchObject({ channel: 'duty-sms', ok: true, attempts: 2 });
        expect(modem.sms).toHaveLength(1);
        expect(modem.sms[0]).toMatchObject({ to: '+8613800000009' });
        expect(modem.sms[0]?.text).toContain('【重要】燃气浓度报警：gas-b1-101');
        const cmds = modem.commands.filter((c) => !c.startsWith('<text>'));
        expect(cmds.slice(0, 6)).toEqual([
          'AT',
          'ATE0',
          'AT+CMGF=1',
          // Chinese text: UCS2 (3GPP TS 27.005 §3.3.2 with the UCS2 character set, data coding scheme 8).
          'AT+CSCS="UCS2"',
          'AT+CSMP=17,167,0,8',
          `AT+CMGS="${Buffer.from('+8613800000009', 'utf16le').swap16().toString('hex').toUpperCase()}"`,
        ]);
        expect(modem.commands.filter((c) => c.startsWith('<text>'))).toHaveLength(2); // the failed try and the retry

        const ack = await feed.request({ op: 'ack', alarmId: id, note: 'checking kitchen 101' });
        expect(ack).toMatchObject({ type: 'result', ok: true });
        const acked = await feed.waitEvent('alarm.acknowledged', 'gas-low');
        expect(acked.data).toMatchObject({ by: CONSOLE_USER, note: 'checking kitchen 101' });
        expect(alarmOf(acked).acknowledged).toMatchObject({ by: CONSOLE_USER });

        clock.advance(60 * 60_000); // well past the manager tier
        await new Promise((r) => setTimeout(r, 100));
        await gw.pipeline.committed();
        expect(gw.journal.query({ type: 'alarm.escalated' })).toHaveLength(1);
        expect(modem.sms).toHaveLength(1);
        const history = gw.alarms.engine.get(id)?.history.map((h) => [h.what, h.by]);
        expect(history).toEqual([
          ['raised', undefined],
          ['escalated', undefined],
          ['notified', undefined],
          ['acknowledged', CONSOLE_USER],
        ]);

        // Resolve through the feed; an anonymous (wrong password) client may not.
        const intruder = await feedClient(gw.http.url, CONSOLE_USER, 'wrong');
        await waitFor('login refused', () => intruder.messages.find((m) => m.type === 'login'));
        expect(await intruder.request({ op: 'resolve', alarmId: id })).toMatchObject({ ok: false });
        intruder.close();
        expect(await feed.request({ op: 'resolve', alarmId: id, note: 'leak fixed' })).toMatchObject({
          ok: true,
        });
        const resolved = await feed.waitEvent('alarm.resolved', 'gas-low');
        expect(alarmOf(resolved)).toMatchObject({
          state: 'resolved',
          resolved: { by: CONSOLE_USER, note: 'leak fixed' },
        });
      } finally {
        feed.close();
        await gw.close();
        sim.sim.setLel(2, 0);
      }
    });
  });
});
