/**
 * Chaos, CI-sized: the city broker (a real mosquitto, stopped and started by its pid) goes away
 * four times while the gateway forwards events under load. Nothing is lost, the seq numbers are
 * contiguous, and the uplink reconnects after every restart. The long run is `npm run chaos`.
 */
import { describe, expect, it } from 'vitest';
import { runFlapChaos } from '../../scripts/reliability/chaos-runs.js';

describe('chaos: city broker flapping', () => {
  it('loses nothing and reconnects after each of 4 broker restarts', async () => {
    const r = await runFlapChaos({
      flaps: 4,
      seed: 20_261_124,
      changesPerS: 300,
      alarmEveryMs: 1500,
      buses: 2,
      unitsPerBus: 30,
      pollIntervalMs: 200,
      drainTimeoutMs: 60_000,
      downMs: [800, 2000],
      // longer than the gateway's longest backoff (2 s): it gets to connect between two stops
      upMs: [3000, 4000],
    });
    expect(r.failures).toEqual([]);
    const c = r.check!;
    expect(c.journaled).toBeGreaterThan(0);
    expect(c.lost).toBe(0);
    expect(c.journalSeqGaps).toBe(0);
    expect(c.idMismatches).toBe(0);
    expect(c.unknownAtCity).toBe(0);
    expect(c.outboxPending).toBe(0);
    // events committed while the broker was away were forwarded later, flagged historical
    expect(c.historical).toBeGreaterThan(0);
    expect(r.figures['broker stops (SIGTERM) and restarts']).toBe(4);
    expect(r.figures['uplink reconnects']).toBeGreaterThanOrEqual(4);
  }, 240_000);
});
