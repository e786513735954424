/**
 * Disk full (the journal's commits refused) in the real gateway against the gas simulator: the local alarm still reaches the local bus, the console feed and SMS, the valve
 * still closes, /healthz says why; once space returns everything held is committed, once.
 */
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bootGateway,
  CONSOLE_PASSWORD,
  CONSOLE_USER,
  feedClient,
  siteConfig,
  startGasSim,
  waitFor,
} from '../alarms/testing/gateway-harness.js';
import type { EventEnvelope } from '../core/envelope.js';
import type { RunningGasSimulatorTcp } from '../../simulators/gas-detector/index.js';
import { type RunningGsmModem, startGsmModemSimulator } from '../../simulators/gsm-modem/index.js';

describe('disk full', () => {
  let sim: RunningGasSimulatorTcp;
  let modem: RunningGsmModem;
  beforeAll(async () => {
    sim = await startGasSim();
    modem = await startGsmModemSimulator();
  });
  afterAll(async () => {
    await sim?.close();
    await modem?.close();
  });

  it('alarms still reach the bus, the console and SMS; a clear state; everything commits once space returns', async () => {
    sim.sim.setLel(1, 0);
    sim.sim.setValve(1, false);
    const gw = await bootGateway(
      siteConfig(sim, {
        notify: {
          channels: [
            { type: 'sms', id: 'duty-sms', port: modem.path, to: ['+8613800000001'], timeout: '2s' },
          ],
          tiers: [{ name: 'duty', channels: ['duty-sms'] }],
        },
      }),
    );
    const feed = await feedClient(gw.http.url);
    const bus = await mqtt.connectAsync(`mqtt://127.0.0.1:${gw.broker.listeners[0]!.port}`, {
      username: CONSOLE_USER,
      password: CONSOLE_PASSWORD,
      reconnectPeriod: 0,
    });
    const onBus: EventEnvelope[] = [];
    bus.on('message', (_t, p) => onBus.push(JSON.parse(p.toString()) as EventEnvelope));
    await bus.subscribeAsync(`${gw.root}/events/+/+/alarm.raised`, { qos: 1 });
    const db = gw.journal.db;
    try {
      await waitFor('the detector online', () => gw.journal.query({ type: 'gas.reading' }).length > 0);

      // The disk is full. The journal commits on its writer thread's own connection, which
      // `max_page_count` (a setting of one connection) cannot reach: a trigger refuses its inserts.
      db.exec("CREATE TRIGGER disk_full BEFORE INSERT ON events BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END");
      // Readings reach the refused commit (bounded: at most 200,000 of them).
      for (let i = 0; i < 200 && gw.pipeline.pressure !== 'disk'; i++) {
        for (let j = 0; j < 1_000; j++) {
          gw.pipeline.ingest({
            deviceId: 'gas-b1-101',
            type: 'gas.reading',
            kind: 'telemetry',
            severity: 'info',
            data: { lel: 0, filler: 'x'.repeat(200) },
          });
        }
        await new Promise((r) => setImmediate(r));
      }
      expect(gw.pipeline.pressure).toBe('disk');
      const health = (await (await fetch(`${gw.http.url}/healthz`)).json()) as {
        status: string;
        pressure: { state: string };
      };
      expect(health).toMatchObject({ status: 'degraded', pressure: { state: 'disk' } });
      const metrics = await (await fetch(`${gw.http.url}/metrics`)).text();
      expect(metrics).toMatch(/gateway_degraded\{reason="disk"\} 1/);

      sim.sim.setLel(1, 60); // above the high threshold
      const raised = await feed.waitEvent('alarm.raised', 'gas-high');
      await waitFor('alarm.raised on the local bus', () => onBus.find((e) => e.id === raised.id));
      await waitFor('SMS sent', () => modem.sms.length > 0);
      expect(modem.sms[0]?.to).toBe('+8613800000001');
      await waitFor('valve relay closed on the simulator', () => sim.sim.getValve(1));
      expect(gw.journal.query({ type: 'alarm.raised' }), 'not committed yet').toHaveLength(0);
      expect(gw.pipeline.pressure).toBe('disk');

      // Space returns: what was held commits, once, in order; the outbox-free gateway is ok again.
      db.exec('DROP TRIGGER disk_full');
      await waitFor('commits again', () => gw.pipeline.pressure === 'ok', 5_000);
      await gw.pipeline.committed();
      const journaled = gw.journal.query({ type: 'alarm.raised' });
      expect(journaled.map((e) => e.id)).toEqual([raised.id]);
      expect(gw.journal.query({ type: 'gas.alarm.high' })).toHaveLength(1);
      const seqs = db.prepare('SELECT MIN(seq) AS lo, MAX(seq) AS hi, COUNT(*) AS n FROM events').get() as {
        lo: number;
        hi: number;
        n: number;
      };
      expect(seqs.hi - seqs.lo + 1).toBe(seqs.n);
      // The alarm's state was written with it: the engine's store knows it after the commit.
      expect(gw.alarms.store.get(raised.data.alarm ? (raised.data.alarm as { id: string }).id : '')).toBeDefined();
      // The bus and the console saw it once, before the commit; the late commit does not repeat it.
      await new Promise((r) => setTimeout(r, 200));
      expect(onBus.filter((e) => e.id === raised.id)).toHaveLength(1);
      expect(feed.alarmEvents('alarm.raised', 'gas-high')).toHaveLength(1);
    } finally {
      await bus.endAsync();
      feed.close();
      await gw.close();
      sim.sim.setLel(1, 0);
    }
  });
});
