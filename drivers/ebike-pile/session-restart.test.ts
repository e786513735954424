/**
 * A charging session outlives a gateway restart: its start meter is in the driver's durable
 * store, so the session stopped after the restart reports the energy of the whole session.
 * Also: a pile that stops answering goes offline; one good poll brings it back.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../gateway/testing/wait-for.js';
import { startEbikeSimulatorTcp } from '../../simulators/ebike-pile/index.js';
import { ebikeConfig, startEbike } from './testing/harness.js';

const dir = mkdtempSync(join(tmpdir(), 'ebike-restart-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('ebike-pile sessions across a gateway restart', () => {
  it('reports the energy from the session start before the restart', async () => {
    const s = await startEbikeSimulatorTcp({ units: [4], speedup: 0 });
    const dbPath = join(dir, 'gw.db');
    const cfg = ebikeConfig(s.port, [{ id: 'pile-4', unitId: 4 }], { offlineAfterFailures: 1 });
    try {
      s.sim.step(0);
      s.sim.port(4, 1).energyWh = 1000; // the port's lifetime meter
      const a = startEbike(cfg, { dbPath });
      await waitFor('idle reading', () => a.eventsOf('pile-4', 'pile.port.reading').length >= 10);
      s.sim.plug(4, 1, true);
      const started = await waitFor('started', () => a.eventsOf('pile-4', 'pile.session.started')[0]);
      expect(started.data).toEqual({ port: 1, energyWh: 1000 });
      await a.close();

      s.sim.step(60_000); // charged while the gateway was down: 2.4 Wh
      const b = startEbike(cfg, { dbPath });
      try {
        await waitFor('reading after restart', () => b.eventsOf('pile-4', 'pile.port.reading').find((e) => e.data.port === 1));
        expect(b.eventsOf('pile-4', 'pile.session.started')).toEqual([]);
        s.sim.plug(4, 1, false);
        const stopped = await waitFor('stopped', () => b.eventsOf('pile-4', 'pile.session.stopped')[0]);
        expect(stopped.data).toEqual({ port: 1, energyWh: 2, reason: 'unplugged' });

        s.sim.setResponding(4, false);
        await waitFor('offline', () => b.online('pile-4') === false);
        s.sim.setResponding(4, true);
        await waitFor('back online', () => b.online('pile-4') === true);
      } finally {
        await b.close();
      }
    } finally {
      await s.close();
    }
  });
});
