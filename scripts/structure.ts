/**
 * Structure rules of the source tree, checked by scripts/structure.test.ts (so by `npm test` and
 * CI) and printed by `npx tsx scripts/structure.ts`:
 *
 * 1. No import cycles between folders: every relative import of the shipped code (static,
 *    `export ... from`, `import type`, dynamic `import()`) is an edge from the importing file's
 *    folder to the imported file's folder; a strongly connected component of more than one folder
 *    is a cycle. Tests are leaves (nothing imports a test), so a test's imports cannot close a
 *    cycle of the shipped code; a driver's test running it against its simulator is how it should be.
 *    In exchange, shipped code (not tests, not scripts/) never imports a test file or a `testing/` folder.
 * 2. A family folder (`drivers/<name>/`, `drivers/examples/<name>/`) imports only its own files,
 *    the driver API and the shared protocol stacks; its tests may also use simulators and test helpers.
 * 3. File size: a source file over MAX_SOURCE_LINES, or a test file over MAX_TEST_LINES, fails
 *    unless SIZE_ALLOWLIST names it with a reason.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The folders whose TypeScript the rules cover. */
export const SOURCE_ROOTS = ['gateway', 'drivers', 'simulators', 'config', 'scripts'];

/** A file whose first lines carry one of these markers is generated and not checked. */
const GENERATED_MARKERS = ['@generated', 'DO NOT EDIT'];

// ---------------------------------------------------------------------------------------------
// Files and imports

export interface ImportRef {
  /** Importing file, relative to the repository root, with `/` separators. */
  from: string;
  /** 1-based line of the specifier. */
  line: number;
  /** The specifier as written. */
  specifier: string;
  /** Imported file relative to the repository root, or undefined for a package or builtin. */
  target?: string;
}

export interface SourceFile {
  path: string;
  text: string;
}

const toPosix = (p: string): string => p.split(sep).join('/');

/** Every non-generated `.ts` file (not `.d.ts`) under the source roots, sorted. */
export function listSourceFiles(root = REPO_ROOT, roots = SOURCE_ROOTS): SourceFile[] {
  const out: SourceFile[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
      const full = join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) {
        const text = readFileSync(full, 'utf8');
        const head = text.split('\n', 5).join('\n');
        if (GENERATED_MARKERS.some((m) => head.includes(m))) continue;
        out.push({ path: toPosix(relative(root, full)), text });
      }
    }
  };
  for (const r of roots) if (existsSync(join(root, r))) walk(join(root, r));
  return out;
}

/** The import specifiers of one file, with their lines (comments and strings are not imports). */
export function parseImports(text: string): { specifier: string; line: number }[] {
  const info = ts.preProcessFile(text, true, true);
  const lineOf = (pos: number): number => text.slice(0, pos).split('\n').length;
  return info.importedFiles.map((f) => ({ specifier: f.fileName, line: lineOf(f.pos) }));
}

/** Resolves a relative specifier (`./x.js` is `./x.ts` on disk; a folder is its index.ts). */
export function resolveSpecifier(root: string, from: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  const abs = resolve(root, dirname(from), specifier);
  const candidates = [abs.replace(/\.js$/, '.ts'), abs, `${abs}.ts`, join(abs, 'index.ts')];
  const hit = candidates.find((c) => existsSync(c) && statSync(c).isFile()) ?? candidates[0]!;
  return toPosix(relative(root, hit));
}

export function collectImports(files: SourceFile[], root = REPO_ROOT): ImportRef[] {
  return files.flatMap((f) =>
    parseImports(f.text).map(({ specifier, line }) => ({
      from: f.path,
      line,
      specifier,
      target: resolveSpecifier(root, f.path, specifier),
    })),
  );
}

export const folderOf = (path: string): string => path.slice(0, Math.max(0, path.lastIndexOf('/'))) || '.';

/**
 * A folder's own `testing/` folder is its test seam: helpers for its tests that import it by design.
 * The edge from a folder to its own seam (its tests using their helpers) is not counted as a link.
 */
export const isOwnTestSeam = (from: string, to: string): boolean => to === `${from}/testing`;

// ---------------------------------------------------------------------------------------------
// Rule 1: no import cycles between folders

/** Folder graph: for each edge `a → b`, one example import that makes it. */
export type FolderGraph = Map<string, Map<string, ImportRef>>;

/**
 * The folder graph of the imports. The example of an edge is a non-test import when the edge has
 * one (a cycle made only by tests is still a cycle, but the example shows the stronger link).
 */
export function folderGraph(imports: ImportRef[]): FolderGraph {
  const g: FolderGraph = new Map();
  for (const imp of imports) {
    if (!imp.target) continue;
    const a = folderOf(imp.from);
    const b = folderOf(imp.target);
    if (!g.has(a)) g.set(a, new Map());
    if (!g.has(b)) g.set(b, new Map());
    if (a === b || isOwnTestSeam(a, b)) continue;
    const seen = g.get(a)!.get(b);
    if (!seen || (isTestFile(seen.from) && !isTestFile(imp.from))) g.get(a)!.set(b, imp);
  }
  return g;
}

/** Strongly connected components (Tarjan), each sorted, in order of their first folder. */
export function stronglyConnected(g: Map<string, Iterable<string>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const out: string[][] = [];
  let next = 0;
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next += 1;
    stack.push(v);
    onStack.add(v);
    for (const w of g.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        comp.push(w);
      } while (w !== v);
      out.push(comp.sort());
    }
  };
  for (const v of [...g.keys()].sort()) if (!index.has(v)) visit(v);
  return out.sort((a, b) => a[0]!.localeCompare(b[0]!));
}

/** The shortest cycle from `start` back to itself inside `within` (breadth first). */
function shortestCycle(g: FolderGraph, start: string, within: Set<string>): string[] {
  const prev = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift()!;
    for (const w of [...g.get(v)!.keys()].sort()) {
      if (!within.has(w)) continue;
      if (w === start) {
        const path = [v];
        while (path[0] !== start) path.unshift(prev.get(path[0]!)!);
        return [...path, start];
      }
      if (!prev.has(w)) {
        prev.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start];
}

export interface FolderCycle {
  /** Every folder of the strongly connected component. */
  folders: string[];
  /** Cycles through the component, together touching every folder: `[a, b, a]`. */
  cycles: { path: string[]; edges: ImportRef[] }[];
}

export function findFolderCycles(g: FolderGraph): FolderCycle[] {
  return stronglyConnected(new Map([...g].map(([k, v]) => [k, v.keys()])))
    .filter((c) => c.length > 1)
    .map((folders) => {
      const within = new Set(folders);
      const covered = new Set<string>();
      const cycles: FolderCycle['cycles'] = [];
      for (const f of folders) {
        if (covered.has(f)) continue;
        const path = shortestCycle(g, f, within);
        path.forEach((p) => covered.add(p));
        cycles.push({ path, edges: path.slice(1).map((to, i) => g.get(path[i]!)!.get(to)!) });
      }
      return { folders, cycles };
    });
}

export function formatCycle(c: FolderCycle): string {
  const lines = [`import cycle between folders: ${c.folders.join(', ')}`];
  for (const { path, edges } of c.cycles) {
    lines.push(`  ${path.join(' → ')}`);
    for (const e of edges)
      lines.push(`    ${e.from}:${e.line} imports '${e.specifier}'${isTestFile(e.from) ? ' (test)' : ''}`);
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Rule 2: a family folder imports only the driver API

/** The one file of the gateway that a family may import. */
export const DRIVER_API = 'gateway/devices/driver-api.ts';

/** Shared protocol stacks under drivers/: not families; any family may import them. */
export const PROTOCOL_STACKS = ['drivers/modbus', 'drivers/lorawan', 'drivers/http'];

/** Folders under drivers/ whose sub-folders are families (examples of the driver API). */
export const FAMILY_CONTAINERS = ['drivers/examples'];

/** What a family's test files may import besides the rest: simulators and test helpers. */
export const TEST_HELPERS = ['simulators/', 'gateway/core/free-port.ts'];

/** `*.test.ts`, a fuzz target, or anything in a `testing/` folder. */
export const isTestFile = (path: string): boolean =>
  /\.(test|fuzz)\.ts$/.test(path) || path.split('/').includes('testing');

const within = (path: string, folder: string): boolean => path.startsWith(`${folder}/`);

/** Family folders among the given files: `drivers/<name>` and `drivers/examples/<name>`. */
export function familyFolders(paths: string[]): string[] {
  const out = new Set<string>();
  for (const p of paths) {
    const parts = p.split('/');
    if (parts[0] !== 'drivers' || parts.length < 3) continue;
    const top = `drivers/${parts[1]}`;
    if (PROTOCOL_STACKS.includes(top)) continue;
    if (FAMILY_CONTAINERS.includes(top)) {
      if (parts.length >= 4) out.add(`${top}/${parts[2]}`);
    } else out.add(top);
  }
  return [...out].sort();
}

export interface FamilyViolation extends ImportRef {
  family: string;
  rule: string;
}

/** Why `imp` (from a file of `family`) is not allowed, or undefined when it is. */
export function familyImportProblem(family: string, imp: ImportRef): string | undefined {
  const t = imp.target;
  if (!t) return undefined; // node builtin or npm package
  if (within(t, family) || t === DRIVER_API) return undefined;
  const test = isTestFile(imp.from);
  if (PROTOCOL_STACKS.some((s) => within(t, s)) && (test || !isTestFile(t))) return undefined;
  if (test && (isTestFile(t) || TEST_HELPERS.some((h) => t === h || t.startsWith(h)))) return undefined;
  return test
    ? `a family's tests import only the family, ${DRIVER_API}, the protocol stacks (${PROTOCOL_STACKS.join(', ')}), simulators and test helpers`
    : `a family imports only its own folder, ${DRIVER_API} and the protocol stacks (${PROTOCOL_STACKS.join(', ')})`;
}

export function familyViolations(imports: ImportRef[], families: string[]): FamilyViolation[] {
  const out: FamilyViolation[] = [];
  for (const imp of imports) {
    const family = families.find((f) => within(imp.from, f));
    if (!family) continue;
    const rule = familyImportProblem(family, imp);
    if (rule) out.push({ ...imp, family, rule });
  }
  return out;
}

export const formatFamilyViolation = (v: FamilyViolation): string =>
  `${v.from}:${v.line} imports '${v.specifier}' (${v.target}): ${v.rule}`;

// ---------------------------------------------------------------------------------------------
// Rule 3: file size

export const MAX_SOURCE_LINES = 400;
export const MAX_TEST_LINES = 500;

/** Files allowed over the limit, each with the reason. */
export const SIZE_ALLOWLIST: Record<string, string> = {
  'gateway/console/alarm-feed.ts':
    'one state machine (feed, acknowledgement, replay after reconnect) that reads worse when split',
};

export interface SizeViolation {
  path: string;
  lines: number;
  limit: number;
}

export const countLines = (text: string): number => text.split('\n').length - (text.endsWith('\n') ? 1 : 0);

export function sizeViolations(files: SourceFile[], allow = SIZE_ALLOWLIST): SizeViolation[] {
  return files
    .map((f) => ({
      path: f.path,
      lines: countLines(f.text),
      limit: isTestFile(f.path) ? MAX_TEST_LINES : MAX_SOURCE_LINES,
    }))
    .filter((v) => v.lines > v.limit && !(v.path in allow));
}

export const formatSizeViolation = (v: SizeViolation): string =>
  `${v.path}: ${v.lines} lines, over the limit of ${v.limit} for ${v.limit === MAX_TEST_LINES ? 'test' : 'source'} files (split it along its seams, or add it to SIZE_ALLOWLIST in scripts/structure.ts with a reason)`;

// ---------------------------------------------------------------------------------------------

export interface StructureReport {
  cycles: FolderCycle[];
  /** Shipped code importing a test file or a `testing/` folder. */
  testImports: ImportRef[];
  /** Files of the shipped code and tooling that import each other in a circle. */
  fileCycles: string[][];
  families: string[];
  familyViolations: FamilyViolation[];
  sizeViolations: SizeViolation[];
}

/** Built into the package: not a test, not tooling under scripts/ (benchmarks and reliability runs use test rigs). */
export const isShipped = (path: string): boolean => !isTestFile(path) && !path.startsWith('scripts/');

/** Strongly connected files (more than one): a circle of imports, even within one folder. */
export function fileCycles(imports: ImportRef[]): string[][] {
  const g = new Map<string, Set<string>>();
  for (const i of imports) {
    if (!i.target) continue;
    if (!g.has(i.from)) g.set(i.from, new Set());
    if (!g.has(i.target)) g.set(i.target, new Set());
    g.get(i.from)!.add(i.target);
  }
  return stronglyConnected(g).filter((c) => c.length > 1);
}

export const formatFileCycle = (files: string[]): string =>
  `files importing each other in a circle: ${files.join(' → ')} (move what both need into one of them or a third file)`;

export const formatTestImport = (i: ImportRef): string =>
  `${i.from}:${i.line} imports '${i.specifier}': shipped code never imports a test file or a testing/ folder`;

export function checkStructure(root = REPO_ROOT): StructureReport {
  const files = listSourceFiles(root);
  const imports = collectImports(files, root);
  const families = familyFolders(files.map((f) => f.path));
  return {
    cycles: findFolderCycles(folderGraph(imports.filter((i) => !isTestFile(i.from)))),
    testImports: imports.filter((i) => isShipped(i.from) && i.target && isTestFile(i.target)),
    fileCycles: fileCycles(imports.filter((i) => !isTestFile(i.from))),
    families,
    familyViolations: familyViolations(imports, families),
    sizeViolations: sizeViolations(files),
  };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const r = checkStructure();
  const out = [
    ...r.cycles.map(formatCycle),
    ...r.testImports.map(formatTestImport),
    ...r.fileCycles.map(formatFileCycle),
    ...r.familyViolations.map(formatFamilyViolation),
    ...r.sizeViolations.map(formatSizeViolation),
  ];
  console.log(out.length > 0 ? out.join('\n') : 'structure: ok');
  process.exitCode = out.length > 0 ? 1 : 0;
}
