import { describe, expect, it } from 'vitest';
import { siteFileFuzzTarget } from './site-file.fuzz.js';

// A short, fixed-seed run of the site-file fuzz target (`npm run fuzz -- --only site-file` runs it long).
describe('site-file fuzz target (CI-bounded)', () => {
  it('every generated site file loads frozen or is refused with a ConfigError naming a path and a message', async () => {
    const lines: string[] = [];
    const out = await siteFileFuzzTarget.run({ numRuns: 60, seed: 20_251_123, log: (l) => lines.push(l) });
    expect(out.failures, lines.join('\n')).toBe(0);
    expect(out.inputs).toBe(60);
    expect(out.refused).toBeGreaterThan(0);
    expect(out.refused).toBeLessThan(out.inputs);
  });
});
