/**
 * Journal durability: a gateway child process is killed with SIGKILL right after
 * subscribers saw its events; every event seen is in the journal after restart, none twice,
 * and the sequence goes on without reuse. SIGTERM stops cleanly and loses nothing.
 */
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningGasSimulatorTcp, startGasSimulatorTcp } from '../../simulators/gas-detector/index.js';
import type { EventEnvelope } from '../core/envelope.js';
import { Journal } from '../journal/journal.js';
import { type GatewayProcess, gatewayReady, spawnGateway, tempDir, writeSiteConfig } from './testing/harness.js';

const UNITS = Array.from({ length: 20 }, (_, i) => i + 1);

describe('journal durability across kill -9', () => {
  let sim: RunningGasSimulatorTcp;
  let dir: string;
  let configFile: string;
  let wobble: NodeJS.Timeout;
  const running: GatewayProcess[] = [];

  beforeAll(async () => {
    sim = await startGasSimulatorTcp({ units: UNITS });
    dir = tempDir('durability-');
    configFile = writeSiteConfig(dir, {
      site: { id: 'test-site' },
      gateway: { id: 'gw-t' },
      log: { level: 'warn' },
      broker: { listeners: [{ type: 'tcp', host: '127.0.0.1', port: 0 }], accounts: [] },
      demo: true,
      journal: { path: join(dir, 'gateway.db'), synchronous: 'FULL' },
      http: { host: '127.0.0.1', port: 0 },
      drivers: [
        {
          family: 'gas-detector',
          id: 'gas-line',
          transport: { type: 'tcp', host: '127.0.0.1', port: sim.port },
          pollIntervalMs: 100,
          lelDeadband: 0.5,
          devices: UNITS.map((u) => ({ id: `gas-${u}`, unitId: u })),
        },
      ],
    });
    // Keep the levels moving (bounded: cleared in afterAll) so every poll produces events.
    let step = 0;
    wobble = setInterval(() => {
      step += 1;
      for (const u of UNITS) sim.sim.setLel(u, ((step * 7 + u * 3) % 18) + 1);
    }, 50);
  });

  afterAll(async () => {
    clearInterval(wobble);
    for (const gw of running)
      if (gw.child.exitCode === null && gw.child.signalCode === null) gw.child.kill('SIGKILL');
    await sim.close();
  });

  async function startAndWatch(): Promise<{ gw: GatewayProcess; sub: MqttClient; seen: EventEnvelope[] }> {
    const gw = spawnGateway(['start', '--config', configFile]);
    running.push(gw);
    const { brokerUrl } = await gatewayReady(gw);
    const sub = await connectAsync(brokerUrl, { protocolVersion: 4, reconnectPeriod: 0 });
    const seen: EventEnvelope[] = [];
    sub.on('message', (_t, payload) => seen.push(JSON.parse(payload.toString())));
    await sub.subscribeAsync('cg/v1/test-site/gw-t/events/#', { qos: 1 });
    return { gw, sub, seen };
  }

  async function until(cond: () => boolean, what: string): Promise<void> {
    for (let i = 0; i < 300 && !cond(); i++) await new Promise((r) => setTimeout(r, 50));
    if (!cond()) throw new Error(`timed out waiting for ${what}`);
  }

  function readJournal(): { seqs: number[]; ids: Set<string>; count: number } {
    const j = new Journal({
      path: join(dir, 'gateway.db'),
      synchronous: 'FULL',
      retention: { maxAgeDays: 30, maxSizeMB: 100 },
    });
    try {
      const rows = j.query({ limit: 1_000_000 });
      return { seqs: rows.map((e) => e.seq), ids: new Set(rows.map((e) => e.id)), count: j.count() };
    } finally {
      j.close();
    }
  }

  it('keeps every event a subscriber saw, once, across SIGKILL and restart; SIGTERM loses nothing', async () => {
    const first = await startAndWatch();
    await until(() => first.seen.length >= 300, '300 events on the local bus');
    first.gw.child.kill('SIGKILL');
    const killed = await first.gw.exited;
    expect(killed.signal).toBe('SIGKILL');
    const seenBeforeKill = [...first.seen];
    first.sub.end(true);

    const afterKill = readJournal();
    for (const e of seenBeforeKill)
      expect(afterKill.ids.has(e.id), `event #${e.seq} ${e.id} seen but not journaled`).toBe(true);
    expect(afterKill.ids.size).toBe(afterKill.count); // no event stored twice
    // committed sequence numbers are contiguous from 1: nothing half-written
    expect(afterKill.seqs).toEqual(Array.from({ length: afterKill.count }, (_, i) => i + 1));

    const second = await startAndWatch();
    await until(() => second.seen.length >= 100, '100 more events after restart');
    expect(Math.min(...second.seen.map((e) => e.seq))).toBeGreaterThan(Math.max(...afterKill.seqs));
    second.gw.child.kill('SIGTERM');
    const stopped = await second.gw.exited;
    expect(stopped.code).toBe(0);
    second.sub.end(true);

    const final = readJournal();
    for (const e of [...seenBeforeKill, ...second.seen]) expect(final.ids.has(e.id)).toBe(true);
    expect(final.ids.size).toBe(final.count);
    expect(final.seqs).toEqual([...final.seqs].sort((a, b) => a - b));
    expect(new Set(final.seqs).size).toBe(final.seqs.length);
  });
});
