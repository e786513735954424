import { describe, expect, it } from 'vitest';
import { modbusFuzzTarget } from './modbus.fuzz.js';

// CI-bounded run of the Modbus fuzz target (`npm run fuzz -- --only modbus` runs it long).
// Fixed seed: the generated inputs replay exactly (their timing on the wire may vary).
describe('Modbus fuzz target (bounded)', () => {
  it('hostile slaves: every request settles right or with a coded error, healthy units and another bus keep being polled', async () => {
    const lines: string[] = [];
    const outcome = await modbusFuzzTarget.run({ numRuns: 6, seed: 20_240_611, log: (l) => lines.push(l) });
    expect(outcome.failures, lines.join('\n')).toBe(0);
    expect(outcome.inputs).toBeGreaterThanOrEqual(12);
    expect(outcome.refused).toBeGreaterThan(0);
    expect(outcome.figures?.['reference bus polls']).toBeGreaterThan(0);
  });
});
