/**
 * Chaos, CI-sized: the real gateway process is killed with SIGKILL at random moments (one of them
 * during its start-up) while simulated gas detectors produce events and the uplink forwards them
 * to a real mosquitto. Nothing committed is lost, the seq numbers stay contiguous across every
 * kill, and a duplicate at the city broker carries the same event id. The long run (50 kills) is
 * `npm run chaos`; the scenario is scripts/reliability/chaos-runs.ts.
 */
import { describe, expect, it } from 'vitest';
import { runKillChaos } from '../../scripts/reliability/chaos-runs.js';

describe('chaos: kill -9 of the gateway under load, uplink on', () => {
  it('forwards every committed event to the city broker across 4 kills, seq contiguous, duplicates only with the same id', async () => {
    const r = await runKillChaos({
      kills: 4,
      seed: 20_261_123,
      changesPerS: 300,
      alarmEveryMs: 1500,
      buses: 2,
      unitsPerBus: 30,
      pollIntervalMs: 200,
      drainTimeoutMs: 60_000,
      lifeMs: [300, 2500],
      startupKillShare: 0.25,
      startupWindowMs: 1500,
    });
    expect(r.failures).toEqual([]);
    const c = r.check!;
    expect(c.journaled).toBeGreaterThan(0);
    expect(c.alarmsRaised).toBeGreaterThan(0);
    expect(c.lost).toBe(0);
    expect(c.journalSeqGaps).toBe(0);
    expect(c.idMismatches).toBe(0);
    expect(c.unknownAtCity).toBe(0);
    expect(c.seenNotJournaled).toBe(0);
    expect(c.outboxPending).toBe(0);
    expect(r.figures['kills (SIGKILL)']).toBe(4);
  }, 240_000);
});
