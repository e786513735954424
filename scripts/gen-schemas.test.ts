import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderSchemas, SCHEMA_DIR } from './gen-schemas.js';

describe('docs/schemas', () => {
  it('match the zod schemas (run `npm run gen:schemas` after changing a schema)', () => {
    for (const [file, text] of Object.entries(renderSchemas())) {
      let committed = '';
      try {
        committed = readFileSync(join(SCHEMA_DIR, file), 'utf8');
      } catch {
        // missing file: compared as empty, so the assertion names it
      }
      expect(committed, `docs/schemas/${file} is stale: run npm run gen:schemas`).toBe(text);
    }
  });
});
