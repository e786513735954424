import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileStore } from './driver-files.js';

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'cg-files-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('FileStore', () => {
  it('saves under <driver>/<day>/ and returns the reference relative to its folder', () => {
    const dir = tempDir();
    const files = new FileStore({ dir, budgetBytes: 1000, now: () => Date.parse('2026-11-30T08:00:00Z') });
    const ref = files.forDriver('gates-b3').save(Buffer.from('jpeg'), 'jpg');
    expect(ref).toMatch(/^gates-b3\/2026-11-30\/[0-9a-f-]{36}\.jpg$/);
    expect(readFileSync(join(dir, ref), 'utf8')).toBe('jpeg');
  });

  it('deletes the oldest files when the budget is exceeded, also those from before a restart', () => {
    const dir = tempDir();
    let t = Date.parse('2026-11-30T08:00:00Z');
    const first = new FileStore({ dir, budgetBytes: 250, now: () => t++ }).forDriver('g');
    const a = first.save(Buffer.alloc(100), 'jpg');
    const b = first.save(Buffer.alloc(100), 'jpg');
    const again = new FileStore({ dir, budgetBytes: 250, now: () => t++ }).forDriver('g');
    const c = again.save(Buffer.alloc(100), 'jpg');
    expect(existsSync(join(dir, a))).toBe(false);
    expect(existsSync(join(dir, b))).toBe(true);
    expect(existsSync(join(dir, c))).toBe(true);
  });

  it('refuses a bad extension and a file larger than the budget', () => {
    const files = new FileStore({ dir: tempDir(), budgetBytes: 10 }).forDriver('g');
    expect(() => files.save(Buffer.alloc(1), '../x')).toThrow(/extension/);
    expect(() => files.save(Buffer.alloc(11), 'jpg')).toThrow(/larger than the whole file budget/);
  });
});
