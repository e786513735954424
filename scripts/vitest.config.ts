import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    root: fileURLToPath(new URL('..', import.meta.url)),
    include: ['{gateway,drivers,simulators,config,scripts}/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Every test's temporary files go into one folder per run, removed at its end.
    globalSetup: ['scripts/test-tmpdir.ts'],
  },
});
