/**
 * Every text key the console UI uses (`t('key')`, a page's `titleKey: 'key'`) is in both
 * dictionaries, and both dictionaries hold the same keys with the same {placeholders}.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { en } from './ui/i18n/en.js';
import { zhCN } from './ui/i18n/zh-CN.js';

const UI = fileURLToPath(new URL('./ui/', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) return n === 'i18n' ? [] : sources(p);
    return /\.tsx?$/.test(n) ? [p] : [];
  });
}

/** Keys used in the UI sources, each with the first file using it. */
function usedKeys(): Map<string, string> {
  const used = new Map<string, string>();
  for (const file of sources(UI)) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/\bt\(\s*'([^']+)'|\btitleKey:\s*'([^']+)'/g)) {
      const key = (m[1] ?? m[2])!;
      if (!used.has(key)) used.set(key, file.slice(UI.length));
    }
  }
  return used;
}

const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe('console UI text', () => {
  it('finds the keys the UI uses (the scan itself works)', () => {
    const used = usedKeys();
    expect(used.get('sound.enable')).toBe('pages/inbox.ts');
    expect(used.get('nav.audit')).toBe('pages.ts');
    expect(used.size).toBeGreaterThan(40);
  });

  it('has every used key in both dictionaries', () => {
    const missing = [...usedKeys()]
      .flatMap(([key, file]) => [
        ...(key in zhCN ? [] : [`${key} (used in ${file}) is missing in i18n/zh-CN.ts`]),
        ...(key in en ? [] : [`${key} (used in ${file}) is missing in i18n/en.ts`]),
      ]);
    expect(missing).toEqual([]);
  });

  it('has the same keys and placeholders in zh-CN and en', () => {
    const onlyZh = Object.keys(zhCN).filter((k) => !(k in en)).map((k) => `${k}: only in zh-CN.ts`);
    const onlyEn = Object.keys(en).filter((k) => !(k in zhCN)).map((k) => `${k}: only in en.ts`);
    expect([...onlyZh, ...onlyEn]).toEqual([]);
    const differ = Object.keys(zhCN)
      .filter((k) => k in en && placeholders(zhCN[k]!).join() !== placeholders(en[k]!).join())
      .map((k) => `${k}: {${placeholders(zhCN[k]!).join(',')}} in zh-CN, {${placeholders(en[k]!).join(',')}} in en`);
    expect(differ).toEqual([]);
  });

  it('uses every dictionary key somewhere (no dead text)', () => {
    const used = usedKeys();
    expect(Object.keys(zhCN).filter((k) => !used.has(k))).toEqual([]);
  });
});
