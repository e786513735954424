/** The list of error codes matches the codes the sources use: none missing, none stale. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ErrorCode, errorCodeMeaning } from './error-codes.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory()) return e.name === 'testing' ? [] : sources(rel);
    return e.name.endsWith('.ts') && !/\.(test|fuzz)\.ts$/.test(e.name) ? [rel] : [];
  });
}

/** Codes given to a coded error's constructor (also across lines) or as a `code:` field; Node's own `ERR_*` aside. */
const USE = /(?:new \w*Error\(\s*|super\(\s*|\bcode: )'([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*)'/g;

describe('error codes', () => {
  const used = new Set<string>();
  for (const file of ['gateway', 'drivers', 'config'].flatMap(sources)) {
    if (file === 'gateway/core/error-codes.ts') continue;
    for (const m of readFileSync(join(ROOT, file), 'utf8').matchAll(USE)) if (!m[1]!.startsWith('ERR_')) used.add(m[1]!);
  }

  it('lists every code the sources use', () => {
    expect([...used].filter((c) => !(c in ErrorCode)).sort()).toEqual([]);
  });

  it('lists no code that nothing uses, each with a one-line meaning', () => {
    expect(Object.keys(ErrorCode).filter((c) => !used.has(c))).toEqual([]);
    for (const code of Object.keys(ErrorCode) as ErrorCode[]) expect(errorCodeMeaning(code)).toMatch(/^[^\n]{10,}$/);
  });
});
