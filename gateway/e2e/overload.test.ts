/**
 * Overload: the real gateway (startGateway, uplink on but the city broker unreachable) flooded far
 * past what it can commit with telemetry from 2,000 devices, plus a trickle of alarms. Nothing is
 * timed: the test checks what survives, what is counted and that memory stays bounded.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import mqtt from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../../config/load.js';
import type { SiteConfig } from '../../config/schema.js';
import { waitFor } from '../alarms/testing/gateway-harness.js';
import { hashPassword } from '../auth/password.js';
import type { DeviceEvent, EventEnvelope } from '../core/envelope.js';
import { createLogger } from '../core/logger.js';
import { type Gateway, startGateway } from '../gateway.js';

const DRIVERS = 10;
const PER_DRIVER = 200;
const TELEMETRY = 300_000;
const ALARM_EVERY = 5_000;
const CHUNK = 20_000;

function floodSite(dir: string): SiteConfig {
  const drivers = Array.from({ length: DRIVERS }, (_, d) => ({
    family: 'gas-detector',
    id: `line-${d}`,
    enabled: false, // events come from the flood below, as a driver would emit them
    transport: { type: 'tcp', host: '127.0.0.1', port: 1 },
    devices: Array.from({ length: PER_DRIVER }, (_, i) => ({ id: `gas-${d}-${i}`, unitId: i + 1 })),
  }));
  const r = validateConfig({
    site: { id: 'flood-site' },
    gateway: { id: 'gw-flood' },
    log: { level: 'error' },
    broker: {
      listeners: [{ type: 'tcp', host: '127.0.0.1', port: 0 }],
      accounts: [{ username: 'ops', role: 'admin', passwordHash: hashPassword('ops-pass') }],
    },
    journal: { path: join(dir, 'gw.db'), synchronous: 'NORMAL' },
    http: { host: '127.0.0.1', port: 0 },
    alarms: { builtinRules: false },
    // Nothing listens on port 1: everything stays in the outbox.
    uplink: { url: 'mqtt://127.0.0.1:1', backoff: { initialMs: 60_000, maxMs: 60_000 } },
    drivers,
  });
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.config;
}

describe('overload', () => {
  let gw: Gateway | undefined;
  afterAll(async () => {
    await gw?.close();
  });

  it('survives a telemetry flood far past capacity: every alarm journaled, published and in the outbox; shed = offered - kept; memory bounded', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'overload-'));
    gw = await startGateway(floodSite(dir), createLogger('error'));
    const g = gw;
    const sub = await mqtt.connectAsync(`mqtt://127.0.0.1:${g.broker.listeners[0]!.port}`, {
      username: 'ops',
      password: 'ops-pass',
      reconnectPeriod: 0,
    });
    const alarmsSeen = new Set<string>();
    let telemetrySeen = 0;
    sub.on('message', (topic, payload) => {
      if (topic.endsWith('/gas.alarm.high')) alarmsSeen.add((JSON.parse(payload.toString()) as EventEnvelope).id);
      else if (topic.includes('/events/')) telemetrySeen++;
    });
    await sub.subscribeAsync(`${g.root}/events/#`, { qos: 1 });

    const rss0 = process.memoryUsage.rss();
    let rssPeak = rss0;
    let maxPending = 0;
    let degradedSeen = false;
    let alarms = 0;
    const alarmIds: string[] = [];
    for (let sent = 0; sent < TELEMETRY; ) {
      // One macrotask offers a whole chunk, as a burst of driver callbacks would.
      for (const end = Math.min(TELEMETRY, sent + CHUNK); sent < end; sent++) {
        const n = sent % (DRIVERS * PER_DRIVER);
        const deviceId = `gas-${Math.floor(n / PER_DRIVER)}-${n % PER_DRIVER}`;
        const reading: DeviceEvent = {
          deviceId,
          type: 'gas.reading',
          kind: 'telemetry',
          severity: 'info',
          data: { lel: sent % 100 },
        };
        g.pipeline.ingest(reading);
        if (sent % ALARM_EVERY === 0) {
          const env = g.pipeline.ingest({
            deviceId,
            type: 'gas.alarm.high',
            kind: 'alarm',
            severity: 'critical',
            data: { lel: 60, n: alarms },
          });
          expect(env, 'an alarm is stamped at once, never parked').toBeDefined();
          alarmIds.push(env!.id);
          alarms++;
        }
      }
      maxPending = Math.max(maxPending, g.pipeline.pendingCount);
      degradedSeen ||= g.pipeline.pressure === 'behind';
      rssPeak = Math.max(rssPeak, process.memoryUsage.rss());
      await yieldToLoop();
    }
    await g.pipeline.committed();

    const db = g.journal.db;
    const kept = (db.prepare("SELECT COUNT(*) AS n FROM events WHERE type = 'gas.reading'").get() as { n: number })
      .n;
    const journaledAlarms = db
      .prepare("SELECT id FROM events WHERE type = 'gas.alarm.high' ORDER BY seq")
      .all()
      .map((r) => (r as { id: string }).id);
    const outboxAlarms = (
      db.prepare('SELECT COUNT(*) AS n FROM outbox WHERE lane = 0').get() as { n: number }
    ).n;
    const seqs = db.prepare('SELECT MIN(seq) AS lo, MAX(seq) AS hi, COUNT(*) AS n FROM events').get() as {
      lo: number;
      hi: number;
      n: number;
    };

    expect(degradedSeen, 'the flood put the gateway behind').toBe(true);
    expect(g.pipeline.shedCount).toBeGreaterThan(0);
    expect(g.pipeline.shedCount).toBe(TELEMETRY - kept);
    expect(journaledAlarms).toEqual(alarmIds);
    expect(outboxAlarms).toBe(alarms);
    expect(seqs.hi - seqs.lo + 1, 'seq is contiguous whatever was shed').toBe(seqs.n);
    // Bounded: the waiting telemetry never exceeds the queue limit plus one chunk's alarms and batch.
    expect(maxPending).toBeLessThanOrEqual(20_000 + 2_000 + CHUNK / ALARM_EVERY + 1);
    expect((rssPeak - rss0) / 2 ** 20).toBeLessThan(300);

    await waitFor('every alarm on the local bus', () => alarmsSeen.size === alarms, 20_000);
    expect([...alarmsSeen].sort()).toEqual([...alarmIds].sort());
    expect(telemetrySeen).toBeGreaterThan(0);
    const health = (await (await fetch(`${g.http.url}/healthz`)).json()) as {
      pressure: { telemetryShed: number };
    };
    expect(health.pressure.telemetryShed).toBe(g.pipeline.shedCount);
    const metrics = await (await fetch(`${g.http.url}/metrics`)).text();
    expect(metrics).toMatch(/gateway_telemetry_shed_total\{family="gas-detector"\} \d+/);
    await sub.endAsync();
  });
});
