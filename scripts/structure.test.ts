/**
 * The structure rules of scripts/structure.ts: first the checkers on synthetic input (so each one
 * is seen to fail), then the rules on the real tree.
 */
import { describe, expect, it } from 'vitest';
import {
  checkStructure,
  collectImports,
  countLines,
  DRIVER_API,
  PROTOCOL_STACKS,
  familyFolders,
  familyViolations,
  findFolderCycles,
  folderGraph,
  formatCycle,
  fileCycles,
  formatFileCycle,
  formatTestImport,
  formatFamilyViolation,
  formatSizeViolation,
  type ImportRef,
  isTestFile,
  MAX_SOURCE_LINES,
  MAX_TEST_LINES,
  parseImports,
  REPO_ROOT,
  sizeViolations,
  SOURCE_ROOTS,
  stronglyConnected,
} from './structure.js';

/** Import refs from `a/x.ts → b/y.ts` pairs. */
const refs = (...edges: [string, string][]): ImportRef[] =>
  edges.map(([from, target], i) => ({ from, target, line: i + 1, specifier: `./${target}` }));

describe('structure checkers (synthetic input)', () => {
  it('finds static, multi-line, type-only, re-export and dynamic imports, with their lines', () => {
    const src = [
      "import type { A } from './a.js';",
      'import {',
      '  b,',
      "} from '../b/b.js';",
      "export * from './c.js';",
      "export type { T } from './t.js';",
      "const e = await import('./e.js');",
      "// import z from './comment.js'",
      "const s = \"import y from './string.js'\";",
      "import { readFileSync } from 'node:fs';",
    ].join('\n');
    expect(parseImports(src)).toEqual([
      { specifier: './a.js', line: 1 },
      { specifier: '../b/b.js', line: 4 },
      { specifier: './c.js', line: 5 },
      { specifier: './t.js', line: 6 },
      { specifier: './e.js', line: 7 },
      { specifier: 'node:fs', line: 10 },
    ]);
  });

  it('reports a two-folder cycle as a → b → a with one example import per edge', () => {
    const g = folderGraph(refs(['a/x.ts', 'b/y.ts'], ['b/y.ts', 'c/z.ts'], ['b/w.ts', 'a/v.ts']));
    const cycles = findFolderCycles(g);
    expect(cycles).toHaveLength(1);
    expect(cycles[0]!.folders).toEqual(['a', 'b']);
    expect(formatCycle(cycles[0]!)).toBe(
      [
        'import cycle between folders: a, b',
        '  a → b → a',
        "    a/x.ts:1 imports './b/y.ts'",
        "    b/w.ts:3 imports './a/v.ts'",
      ].join('\n'),
    );
  });

  it('covers every folder of a larger component and prefers a non-test import as the example', () => {
    const g = folderGraph(
      refs(
        ['a/1.ts', 'b/1.ts'],
        ['b/1.ts', 'c/1.ts'],
        ['c/1.test.ts', 'a/1.ts'],
        ['c/2.ts', 'a/1.ts'],
        ['c/1.ts', 'd/1.ts'],
        ['d/1.ts', 'c/1.ts'],
      ),
    );
    const [cycle] = findFolderCycles(g);
    expect(cycle!.folders).toEqual(['a', 'b', 'c', 'd']);
    expect(cycle!.cycles.map((c) => c.path.join(' → '))).toEqual(['a → b → c → a', 'd → c → d']);
    expect(cycle!.cycles[0]!.edges[2]!.from).toBe('c/2.ts');
  });

  it('finds no cycle in a layered graph, nor from a folder to its own testing/ seam', () => {
    const g = folderGraph(
      refs(
        ['a/x.ts', 'b/y.ts'],
        ['b/y.ts', 'c/z.ts'],
        ['a/x.ts', 'c/z.ts'],
        ['c/z.test.ts', 'c/testing/h.ts'],
        ['c/testing/h.ts', 'c/z.ts'],
      ),
    );
    expect(findFolderCycles(g)).toEqual([]);
    expect(stronglyConnected(new Map([['a', ['a']]]))).toEqual([['a']]);
  });

  it('a family imports only itself, the driver API and the protocol stacks; its tests also simulators and helpers', () => {
    const fam = 'drivers/acme';
    const imports: ImportRef[] = [
      { from: `${fam}/index.ts`, line: 1, specifier: 'zod' },
      { from: `${fam}/index.ts`, line: 2, specifier: 'node:fs' },
      { from: `${fam}/index.ts`, line: 3, specifier: '…', target: `${fam}/model.ts` },
      { from: `${fam}/index.ts`, line: 4, specifier: '…', target: DRIVER_API },
      { from: `${fam}/index.ts`, line: 5, specifier: '…', target: 'drivers/modbus/modbus-bus.ts' },
      { from: `${fam}/index.ts`, line: 6, specifier: '../../gateway/core/envelope.js', target: 'gateway/core/envelope.ts' },
      { from: `${fam}/index.ts`, line: 7, specifier: '…', target: 'simulators/acme/index.ts' },
      { from: `${fam}/index.ts`, line: 8, specifier: '…', target: 'drivers/other/index.ts' },
      { from: `${fam}/index.ts`, line: 9, specifier: '…', target: 'drivers/modbus/testing/inputs.ts' },
      { from: `${fam}/acme.test.ts`, line: 1, specifier: '…', target: 'simulators/acme/index.ts' },
      { from: `${fam}/acme.test.ts`, line: 2, specifier: '…', target: 'gateway/devices/testing/fake-context.ts' },
      { from: `${fam}/acme.test.ts`, line: 3, specifier: '…', target: 'gateway/core/free-port.ts' },
      { from: `${fam}/testing/harness.ts`, line: 1, specifier: '…', target: 'drivers/modbus/testing/inputs.ts' },
      { from: `${fam}/testing/harness.ts`, line: 2, specifier: '…', target: 'gateway/gateway.ts' },
      { from: 'drivers/modbus/modbus-bus.ts', line: 1, specifier: '…', target: 'gateway/core/errors.ts' },
    ];
    const bad = familyViolations(imports, [fam]);
    expect(bad.map((v) => `${v.from}:${v.line}`)).toEqual([
      `${fam}/index.ts:6`,
      `${fam}/index.ts:7`,
      `${fam}/index.ts:8`,
      `${fam}/index.ts:9`,
      `${fam}/testing/harness.ts:2`,
    ]);
    expect(formatFamilyViolation(bad[0]!)).toBe(
      `${fam}/index.ts:6 imports '../../gateway/core/envelope.js' (gateway/core/envelope.ts): a family imports only its own folder, ${DRIVER_API} and the protocol stacks (${PROTOCOL_STACKS.join(', ')})`,
    );
  });

  it('every drivers/ folder but the protocol stacks is a family, and so is each drivers/examples/ folder', () => {
    expect(
      familyFolders([
        'drivers/index.ts',
        'drivers/modbus/modbus-bus.ts',
        'drivers/gas-detector/index.ts',
        'drivers/gas-detector/testing/harness.ts',
        'drivers/examples/index.ts',
        'drivers/examples/lamp/index.ts',
        'gateway/devices/driver-api.ts',
      ]),
    ).toEqual(['drivers/examples/lamp', 'drivers/gas-detector']);
  });

  it('a source file over 400 lines and a test file over 500 lines fail unless allow-listed', () => {
    const lines = (n: number): string => 'x\n'.repeat(n);
    expect(countLines(lines(3))).toBe(3);
    expect(countLines('a\nb')).toBe(2);
    const files = [
      { path: 'a/ok.ts', text: lines(MAX_SOURCE_LINES) },
      { path: 'a/big.ts', text: lines(MAX_SOURCE_LINES + 1) },
      { path: 'a/big.test.ts', text: lines(MAX_SOURCE_LINES + 1) },
      { path: 'a/bigger.test.ts', text: lines(MAX_TEST_LINES + 1) },
      { path: 'a/testing/h.ts', text: lines(MAX_TEST_LINES + 1) },
      { path: 'a/known.ts', text: lines(MAX_SOURCE_LINES + 1) },
    ];
    const bad = sizeViolations(files, { 'a/known.ts': 'reason' });
    expect(bad.map((v) => v.path)).toEqual(['a/big.ts', 'a/bigger.test.ts', 'a/testing/h.ts']);
    expect(formatSizeViolation(bad[0]!)).toMatch(/^a\/big\.ts: 401 lines, over the limit of 400 for source files/);
    expect(isTestFile('a/x.fuzz.ts')).toBe(true);
  });
});

describe('file cycles', () => {
  it('finds files importing each other, and nothing in a chain', () => {
    const imp = (from: string, target: string) => ({ from, line: 1, specifier: '…', target });
    expect(fileCycles([imp('a/x.ts', 'a/y.ts'), imp('a/y.ts', 'a/x.ts'), imp('a/y.ts', 'b/z.ts')])).toEqual([['a/x.ts', 'a/y.ts']]);
    expect(fileCycles([imp('a/x.ts', 'a/y.ts'), imp('a/y.ts', 'b/z.ts')])).toEqual([]);
  });
});

describe('structure of the tree', () => {
  const report = checkStructure();

  it('reads the source roots', () => {
    expect(SOURCE_ROOTS).toEqual(['gateway', 'drivers', 'simulators', 'config', 'scripts']);
    expect(report.families).toContain('drivers/gas-detector');
    expect(report.families).not.toContain('drivers/modbus');
    const own = collectImports([{ path: 'scripts/structure.test.ts', text: "import './structure.js';" }], REPO_ROOT);
    expect(own[0]!.target).toBe('scripts/structure.ts');
  });

  it('has no import cycles between folders', () => {
    expect(report.cycles.map(formatCycle).join('\n')).toBe('');
  });

  it('has no circle of imports between files', () => {
    expect(report.fileCycles.map(formatFileCycle).join('\n')).toBe('');
  });

  it('shipped code imports no test file and no testing/ folder', () => {
    expect(report.testImports.map(formatTestImport).join('\n')).toBe('');
  });

  it.each(report.families)('family %s imports only the driver API and the protocol stacks', (family) => {
    const bad = report.familyViolations.filter((v) => v.family === family).map(formatFamilyViolation);
    expect(bad.join('\n')).toBe('');
  });

  it('has no file over the size limits', () => {
    expect(report.sizeViolations.map(formatSizeViolation).join('\n')).toBe('');
  });
});
