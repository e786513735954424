import { describe, expect, it } from 'vitest';
import { brokerFuzzTarget } from './broker.fuzz.js';

// CI-bounded run of the broker fuzz target (`npm run fuzz -- --only broker` runs it long).
// Fixed seed: a failure here replays exactly.
describe('broker fuzz target (bounded)', () => {
  it('survives generated MQTT byte sequences: alive, healthy clients served, refusals counted, RSS bounded', async () => {
    const lines: string[] = [];
    const outcome = await brokerFuzzTarget.run({ numRuns: 40, seed: 20_240_611, log: (l) => lines.push(l) });
    expect(outcome.failures, lines.join('\n')).toBe(0);
    expect(outcome.inputs).toBeGreaterThanOrEqual(40);
    expect(outcome.refused).toBeGreaterThan(0);
  });
});
