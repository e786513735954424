import { readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseConfigText } from './load.js';
import { quickParse } from './quick-parse.js';
import { DEFAULT_LOAD_LIMITS } from './yaml-limits.js';

const EXAMPLE = readFileSync('config/examples/demo-compound.yaml', 'utf8');

/** The example compound with `buses` more gas-detector buses of 200 detectors each, one per line in flow style (as a large site lists them). */
function largeSite(buses: number): string {
  const bus = (b: number) => {
    const devices = Array.from(
      { length: 200 },
      (_, i) => `      - { id: gas-x${b}-${i}, unitId: ${i + 1}, building: b${i % 40}, zone: "kitchen ${i}", tags: [kitchen] }`,
    );
    return `  - family: gas-detector\n    id: gas-large-${b}\n    enabled: false\n    transport: { type: tcp, host: 127.0.0.1, port: ${16_000 + b} }\n    devices:\n${devices.join('\n')}\n`;
  };
  return EXAMPLE.replace('drivers:\n', `drivers:\n${Array.from({ length: buses }, (_, b) => bus(b)).join('')}`);
}

describe("the site file's fast path", () => {
  it('reads scalars as the full parse does (YAML 1.2 core schema): no binary numbers, underscores, dates or yes/no booleans', () => {
    const text = [
      'a: ~', 'b: null', 'c:', 'd: True', 'e: 0o17', 'f: -12', 'g: 0x1F', 'h: .inf', 'i: -.Inf', 'j: .NaN',
      'k: 1e3', 'l: -.5', 'm: 1.', 'n: 0b101', 'o: 1_000', 'p: 2026-11-23', 'q: yes', 'r: "12"', 's: t',
      't: +.5e-3', 'u: -0x1F', 'v: 0017', "w: '~'", 'x: [on, off, NULL, FALSE]', 'y: !!str 12', '<<: { z: 1 }',
    ].join('\n');
    const quick = quickParse(text, DEFAULT_LOAD_LIMITS);
    expect(quick).toEqual(parse(text));
    expect(quick).toMatchObject({ n: '0b101', o: '1_000', p: '2026-11-23', q: 'yes', u: '-0x1F', v: 17, '<<': { z: 1 } });
  });

  it('leaves every file with a problem, or beyond a limit of the full parse, to the full parse', () => {
    const refused = {
      'duplicate key': 'a: 1\na: 2',
      'syntax error': 'a: [1, 2',
      'second document': 'a: 1\n---\nb: 2',
      'alias that contains itself': 'a: &x [1, *x]',
      'nesting beyond maxDepth': `a: ${'['.repeat(70)}${']'.repeat(70)}`,
      'nesting at maxDepth, the document counted': `a: ${'['.repeat(64)}${']'.repeat(64)}`,
      'explicit key': '? a\n: 1',
      'flow key': '[a, b]: 1',
      'nesting that exhausts the stack': `a: ${'['.repeat(200_000)}`,
      'unknown tag': 'a: !!binary aGVsbG8=',
      empty: '# nothing',
    };
    for (const [what, text] of Object.entries(refused)) expect(quickParse(text, DEFAULT_LOAD_LIMITS), what).toBeUndefined();
    // Limits of the full parse's tokens and anchors: a file it would refuse is not read here either.
    expect(quickParse(EXAMPLE, { ...DEFAULT_LOAD_LIMITS, maxTokens: 1_000 })).toBeUndefined();
    expect(quickParse('a: &x 1\nb: *x\nc: *x', { ...DEFAULT_LOAD_LIMITS, maxAliasNodes: 2 })).toBeUndefined();
    expect(quickParse(EXAMPLE, DEFAULT_LOAD_LIMITS)).toBeDefined();
    expect(quickParse(`a: ${'['.repeat(63)}${']'.repeat(63)}`, DEFAULT_LOAD_LIMITS)).toBeDefined();
    expect(() => parseConfigText('deep.yaml', `a: ${'['.repeat(64)}${']'.repeat(64)}`, {}, { quick: false })).toThrow(/nest more than 64/);
  });

  it('a large site file loads to the same config as through the full parse; a wrong value in it is placed on its line', () => {
    const text = largeSite(15);
    const quick = parseConfigText('large.yaml', text);
    expect(isDeepStrictEqual(quick, parseConfigText('large.yaml', text, {}, { quick: false }))).toBe(true);
    expect(quick.drivers.filter((d) => d.id.startsWith('gas-large-')).flatMap((d) => d.devices)).toHaveLength(3_000);
    // js-yaml alone would read 0b1111101000 as 1000: the full parse reads a string, and says where.
    const wrong = text.replace('    id: gas-large-7\n', '    id: gas-large-7\n    pollIntervalMs: 0b1111101000\n');
    const line = wrong.split('\n').findIndex((l) => l.includes('0b1111101000')) + 1;
    expect(() => parseConfigText('large.yaml', wrong)).toThrow(expect.objectContaining({
      problems: [expect.objectContaining({ path: expect.stringContaining('pollIntervalMs'), line })],
    }));
  });
});
