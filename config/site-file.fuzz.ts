/**
 * Fuzz target: generated site files through the config loader (config/load.ts), each written to a
 * file and loaded as `gateway check-config` and `gateway start` load it.
 *
 * Inputs (fast-check, seeded): random text edits and wrong-typed values in the example compound,
 * YAML alias bombs (also in keys and inside a valid file), deep nesting (flow and block), huge
 * strings around the size limit, thousands of aliases, self-referencing aliases, floods of cheap
 * tokens (blank lines, comments, stray brackets, documents, tags), random bytes.
 * Invariant per input: the loader returns a deeply frozen config or throws a ConfigError with at
 * least one problem (a path, possibly empty for the whole file, and a message); never any other
 * exception, never a crash. The example compound itself, with small aliases, must still load. An
 * accepted file reads the same with the full parse alone as through the loader's fast path.
 * Time per input and peak memory are reported (the runner's timeout catches a hang).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { parse, stringify } from 'yaml';
import type { FuzzOutcome, FuzzTarget } from '../gateway/testing/fuzz-target.js';
import { ConfigError, DEFAULT_LOAD_LIMITS, loadConfig, parseConfigText } from './load.js';

const DEMO_TEXT = readFileSync(new URL('./examples/demo-compound.yaml', import.meta.url), 'utf8');
const DEMO_DATA = parse(DEMO_TEXT) as unknown;

type Kind =
  | 'text-edit'
  | 'wrong-values'
  | 'alias-bomb'
  | 'deep-nesting'
  | 'huge-string'
  | 'many-aliases'
  | 'alias-cycle'
  | 'random-bytes'
  | 'token-flood'
  | 'valid-aliases';

interface Input {
  kind: Kind;
  text: string | Uint8Array;
  /** A file the loader must accept. */
  mustLoad?: boolean;
}

class Broken extends Error {}

/** An accepted file (the loader's fast path, quick-parse.ts) must read the same with the full parse alone. */
function assertFullParseAgrees(config: unknown, file: string): void {
  let full: unknown;
  try {
    full = parseConfigText(file, readFileSync(file, 'utf8'), {}, { quick: false });
  } catch (err) {
    throw new Broken(`the fast path accepted a file the full parse refuses: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!isDeepStrictEqual(config, full)) throw new Broken('the fast path and the full parse read different values');
}

const YAML_CHARS = [...':-[]{}&*!|>\'"#%@,?~=<\n\t  ', 'a', 'z', '0', '9', '.', 'é', '\u0000', '\uFEFF'];

/** Random edits (delete, duplicate, insert YAML punctuation, swap lines) of the example file. */
const textEdit: fc.Arbitrary<Input> = fc
  .array(
    fc.record({
      op: fc.constantFrom('delete', 'duplicate', 'insert', 'swap-lines'),
      at: fc.nat(),
      len: fc.nat({ max: 60 }),
      ins: fc.string({ unit: fc.constantFrom(...YAML_CHARS), maxLength: 12 }),
    }),
    { minLength: 1, maxLength: 8 },
  )
  .map((edits) => {
    let t = DEMO_TEXT;
    for (const e of edits) {
      const at = e.at % (t.length + 1);
      if (e.op === 'delete') t = t.slice(0, at) + t.slice(at + e.len);
      else if (e.op === 'duplicate') t = t.slice(0, at + e.len) + t.slice(at, at + e.len) + t.slice(at + e.len);
      else if (e.op === 'insert') t = t.slice(0, at) + e.ins + t.slice(at);
      else {
        const lines = t.split('\n');
        const i = at % lines.length;
        const j = (at + e.len) % lines.length;
        [lines[i], lines[j]] = [lines[j]!, lines[i]!];
        t = lines.join('\n');
      }
    }
    return { kind: 'text-edit' as const, text: t };
  });

/** Every path of the example's data, to put a wrong value at. */
function paths(v: unknown, at: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(at);
  if (Array.isArray(v)) v.forEach((x, i) => paths(x, [...at, i], out));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) paths(x, [...at, k], out);
  return out;
}
const DEMO_PATHS = paths(DEMO_DATA).filter((p) => p.length > 0);

const DELETE = Symbol('delete');
const wrongValue = fc.oneof(
  fc.constant(DELETE),
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double(),
  fc.string({ maxLength: 40 }),
  fc.constantFrom('', '0', 'true', '-1', '1e309', '65536', 'scrypt$1$1$1$AA==$AA==', '../../etc/passwd'),
  fc.jsonValue({ maxDepth: 3 }),
);

/** The example with values replaced by wrong types, out-of-range numbers, or removed. */
const wrongValues: fc.Arbitrary<Input> = fc
  .array(fc.record({ pick: fc.nat(), value: wrongValue }), { minLength: 1, maxLength: 6 })
  .map((changes) => {
    const data = structuredClone(DEMO_DATA) as Record<string, unknown>;
    for (const c of changes) {
      const path = DEMO_PATHS[c.pick % DEMO_PATHS.length]!;
      let parent: unknown = data;
      for (const k of path.slice(0, -1)) parent = (parent as Record<string | number, unknown> | undefined)?.[k];
      if (!parent || typeof parent !== 'object') continue;
      const last = path[path.length - 1]!;
      if (c.value === DELETE) {
        if (Array.isArray(parent) && typeof last === 'number') parent.splice(last, 1);
        else delete (parent as Record<string | number, unknown>)[last];
      } else (parent as Record<string | number, unknown>)[last] = c.value;
    }
    return { kind: 'wrong-values' as const, text: stringify(data) };
  });

/** Billion laughs: `levels` anchors, each a list of `fan` aliases of the one before, placed in various spots. */
const aliasBomb: fc.Arbitrary<Input> = fc
  .record({
    levels: fc.integer({ min: 2, max: 14 }),
    fan: fc.integer({ min: 2, max: 16 }),
    where: fc.constantFrom('top', 'key', 'tags', 'rule-args', 'site-name'),
  })
  .map(({ levels, fan, where }) => {
    const anchors = [`x0: &a0 [${Array(fan).fill('"lol"').join(', ')}]`];
    for (let i = 1; i < levels; i++) anchors.push(`x${i}: &a${i} [${Array(fan).fill(`*a${i - 1}`).join(', ')}]`);
    const top = `*a${levels - 1}`;
    const prelude = `${anchors.join('\n')}\n`;
    let text: string;
    if (where === 'top') text = `${prelude}y: ${top}\n${DEMO_TEXT}`;
    else if (where === 'key') text = `${prelude}y: { ? ${top} : 1 }\n${DEMO_TEXT}`;
    else if (where === 'tags') text = prelude + DEMO_TEXT.replace('tags: [kitchen, residential]', `tags: ${top}`);
    else if (where === 'rule-args') text = prelude + DEMO_TEXT.replace('command: valve.close,', `command: valve.close, args: { x: ${top} },`);
    else text = prelude + DEMO_TEXT.replace('name: Sunshine Garden Compound', `name: ${top}`);
    return { kind: 'alias-bomb' as const, text };
  });

function nest(depth: number, style: string): string {
  switch (style) {
    case 'flow-seq':
      return `${'['.repeat(depth)}1${']'.repeat(depth)}`;
    case 'flow-map':
      return `${'{a: '.repeat(depth)}1${'}'.repeat(depth)}`;
    case 'block-seq':
      return `\n${Array.from({ length: depth }, (_, i) => `${' '.repeat(i + 2)}-`).join('\n')} 1`;
    case 'block-map':
      return `\n${Array.from({ length: depth }, (_, i) => `${' '.repeat(i + 2)}a:`).join('\n')} 1`;
    default:
      return `${'- '.repeat(depth)}1`;
  }
}

/** Nesting from harmless to far beyond what the parser's recursion survives. */
const deepNesting: fc.Arbitrary<Input> = fc
  .record({
    depth: fc.oneof(fc.integer({ min: 1, max: 80 }), fc.integer({ min: 80, max: 3000 })),
    style: fc.constantFrom('flow-seq', 'flow-map', 'block-seq', 'block-map', 'inline-seq'),
    where: fc.constantFrom('top', 'site-name', 'rule-args'),
  })
  .map(({ depth, style, where }) => {
    const deep = nest(depth, style);
    let text: string;
    if (where === 'top') text = style === 'inline-seq' ? deep : `x: ${deep}\n`;
    else if (where === 'site-name') text = DEMO_TEXT.replace('  name: Sunshine Garden Compound', `  name: ${deep.replace(/\n/g, '\n  ')}`);
    else text = DEMO_TEXT.replace('command: valve.close,', `command: valve.close, args: { x: ${nest(depth, style.startsWith('flow') ? style : 'flow-seq')} },`);
    return { kind: 'deep-nesting' as const, text };
  });

/** One huge scalar (or comment) around the size limit. */
const hugeString: fc.Arbitrary<Input> = fc
  .record({
    size: fc.oneof(
      fc.integer({ min: 1_000, max: 200_000 }),
      fc.integer({ min: DEFAULT_LOAD_LIMITS.maxBytes - 10_000, max: DEFAULT_LOAD_LIMITS.maxBytes + 10_000 }),
    ),
    where: fc.constantFrom('site-name', 'comment', 'key', 'quoted'),
    ch: fc.constantFrom('a', 'é', '[', ' '),
  })
  .map(({ size, where, ch }) => {
    const s = ch.repeat(Math.max(1, Math.floor(size / Buffer.byteLength(ch))));
    let text: string;
    if (where === 'site-name') text = DEMO_TEXT.replace('name: Sunshine Garden Compound', `name: x${s}x`);
    else if (where === 'comment') text = `# ${s}\n${DEMO_TEXT}`;
    else if (where === 'key') text = `${DEMO_TEXT}\nx${s}x: 1\n`;
    else text = DEMO_TEXT.replace('name: Sunshine Garden Compound', `name: "${s.replace(/"/g, '')}"`);
    return { kind: 'huge-string' as const, text };
  });

/** Many alias references to one anchor, with the anchor small or large. */
const manyAliases: fc.Arbitrary<Input> = fc
  .record({ count: fc.integer({ min: 1, max: 20_000 }), anchorItems: fc.integer({ min: 1, max: 2_000 }) })
  .map(({ count, anchorItems }) => ({
    kind: 'many-aliases' as const,
    text: `${DEMO_TEXT}\nx: &big [${Array(anchorItems).fill('1').join(',')}]\ny: [${Array(count).fill('*big').join(',')}]\n`,
  }));

/** An alias inside the node that carries its anchor. */
const aliasCycle: fc.Arbitrary<Input> = fc.constantFrom(
  'site: &s { id: x, name: [*s] }\n',
  'rules: &r [ { args: *r } ]\n',
  DEMO_TEXT.replace('command: valve.close,', 'command: valve.close, args: &c { self: [*c] },'),
  'x: &m { a: { b: *m } }\n',
).map((text) => ({ kind: 'alias-cycle' as const, text }));

/** Text that is cheap to write and costly to parse: blank lines, comments, stray brackets, documents, tags. */
const tokenFlood: fc.Arbitrary<Input> = fc
  .record({
    unit: fc.constantFrom('\n', '#\n', '] ', ': ', '---\n', '...\n', '!x 1, ', '%YAML 1.2\n', '? ', '- ', ', '),
    count: fc.oneof(fc.integer({ min: 1, max: 5_000 }), fc.integer({ min: 5_000, max: 1_500_000 })),
    where: fc.constantFrom('alone', 'after-example', 'in-flow'),
  })
  .map(({ unit, count, where }) => {
    const flood = unit.repeat(Math.min(count, Math.floor(DEFAULT_LOAD_LIMITS.maxBytes / unit.length) + 10));
    const text =
      where === 'alone' ? flood : where === 'after-example' ? `${DEMO_TEXT}\n${flood}` : `${DEMO_TEXT}\nx: [${flood}]\n`;
    return { kind: 'token-flood' as const, text };
  });

const randomBytes: fc.Arbitrary<Input> = fc
  .uint8Array({ maxLength: 4096 })
  .map((text) => ({ kind: 'random-bytes' as const, text }));

/** The example with its repeated tag lists written once as anchors: it must load as before. */
const validAliases: fc.Arbitrary<Input> = fc.integer({ min: 1, max: 5 }).map((n) => {
  let i = 0;
  const text = DEMO_TEXT.replace(/tags: \[kitchen, residential\]/g, (m) =>
    i++ === 0 ? 'tags: &kr [kitchen, residential]' : i <= n + 1 ? 'tags: *kr' : m,
  );
  return { kind: 'valid-aliases' as const, text, mustLoad: true };
});

const INPUT: fc.Arbitrary<Input> = fc.oneof(
  { weight: 5, arbitrary: textEdit },
  { weight: 5, arbitrary: wrongValues },
  { weight: 2, arbitrary: aliasBomb },
  { weight: 2, arbitrary: deepNesting },
  { weight: 1, arbitrary: hugeString },
  { weight: 1, arbitrary: manyAliases },
  { weight: 1, arbitrary: aliasCycle },
  { weight: 2, arbitrary: randomBytes },
  { weight: 2, arbitrary: tokenFlood },
  { weight: 1, arbitrary: validAliases },
);

function assertDeepFrozen(root: unknown): void {
  const seen = new Set<object>();
  const stack: unknown[] = [root];
  while (stack.length) {
    const v = stack.pop();
    if (!v || typeof v !== 'object' || seen.has(v)) continue;
    seen.add(v);
    if (!Object.isFrozen(v)) throw new Broken('the accepted config is not frozen throughout');
    stack.push(...Object.values(v));
  }
}

function assertClearRefusal(err: unknown, file: string): void {
  if (!(err instanceof ConfigError)) {
    throw new Broken(`the loader threw ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}, not a ConfigError`);
  }
  if (err.file !== file) throw new Broken(`the ConfigError names ${err.file}, not the file`);
  if (!err.problems.length) throw new Broken('a ConfigError with no problem');
  for (const p of err.problems) {
    if (typeof p.path !== 'string' || typeof p.message !== 'string' || !p.message.trim()) {
      throw new Broken(`a problem without a path or message: ${JSON.stringify(p)}`);
    }
  }
  if (!err.hint) throw new Broken('a ConfigError without a hint');
}

export const siteFileFuzzTarget: FuzzTarget = {
  id: 'site-file',
  title: 'generated site files (alias bombs, deep nesting, huge strings, wrong types, edits of the example) through the config loader',
  async run({ numRuns, seed, log }): Promise<FuzzOutcome> {
    const dir = mkdtempSync(join(tmpdir(), 'site-fuzz-'));
    const file = join(dir, 'site.yaml');
    const perKind = new Map<Kind, { n: number; accepted: number }>();
    let inputs = 0;
    let refused = 0;
    let failures = 0;
    let slowestMs = 0;
    let slowestKind = '';
    const heapBefore = process.memoryUsage().heapUsed;
    try {
      const details = await fc.check(
        fc.property(INPUT, (input) => {
          inputs++;
          const k = perKind.get(input.kind) ?? { n: 0, accepted: 0 };
          perKind.set(input.kind, k);
          k.n++;
          writeFileSync(file, input.text);
          const t0 = performance.now();
          let accepted = false;
          try {
            const config = loadConfig(file);
            assertDeepFrozen(config);
            accepted = true;
            assertFullParseAgrees(config, file);
          } catch (err) {
            if (err instanceof Broken) throw err;
            assertClearRefusal(err, file);
          } finally {
            const ms = performance.now() - t0;
            if (ms > slowestMs) {
              slowestMs = ms;
              slowestKind = input.kind;
            }
          }
          if (accepted) k.accepted++;
          else refused++;
          if (input.mustLoad && !accepted) throw new Broken('the example compound with small aliases was refused');
        }),
        { numRuns, seed, endOnFailure: true },
      );
      if (details.failed) {
        failures++;
        const err = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
        // Counterexamples can be megabytes long: the seed and path replay them exactly.
        const report = fc.defaultReportMessage(details) ?? '';
        log(`failure: ${err}\n${report.length > 4000 ? `${report.slice(0, 4000)}... (${report.length} characters)` : report}`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const figures: Record<string, number | string> = {
      'slowest input ms': Math.round(slowestMs),
      'slowest input kind': slowestKind,
      'peak rss MB': Math.round(process.resourceUsage().maxRSS / 1024),
      'heap growth MB': Math.round((process.memoryUsage().heapUsed - heapBefore) / 1024 ** 2),
    };
    for (const [kind, k] of perKind) figures[`${kind} (accepted/tried)`] = `${k.accepted}/${k.n}`;
    log(`${inputs} inputs, ${refused} refused with a ConfigError, ${failures} failures`);
    return { inputs, refused, failures, figures };
  },
};
