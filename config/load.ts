/**
 * Loads a site configuration: YAML -> zod -> frozen object. Every problem is reported
 * at once, each with its path in the file, its line, what was wrong and how to fix it.
 *
 * A site file is untrusted input of bounded size: it is refused before parsing when it is
 * larger than `maxBytes`, holds more than `maxNodes` keys and values, or nests its blocks far too
 * deep; before composing when it nests deeper than `maxDepth` or holds more anchors and aliases
 * than `maxAliasNodes`; and before validation when its aliases would expand it beyond
 * `maxValues` (a YAML "billion laughs") or make it refer to itself. Time and memory of a load
 * are bounded by these limits, whatever the text.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { Composer, CST, type Document, isNode, isScalar, Lexer, LineCounter, Parser, visit } from 'yaml';
import type { z } from 'zod';
import { DRIVERS } from '../drivers/index.js';
import { checkAlarmConfig } from '../gateway/alarms/check-rules.js';
import { GatewayError } from '../gateway/core/errors.js';
import { isLoopbackHost } from '../gateway/http/http-auth.js';
import { SiteConfig } from './schema.js';

export interface ConfigProblem {
  /** e.g. `drivers[2].transport.port` */
  path: string;
  line?: number;
  message: string;
}

const FIX_HINT = 'fix the paths above, then run `gateway check-config <file>` again';
/** Problems listed in the message of a ConfigError; `problems` keeps them all. */
const MAX_LISTED = 50;

export class ConfigError extends GatewayError {
  constructor(
    readonly file: string,
    readonly problems: ConfigProblem[],
    hint = FIX_HINT,
  ) {
    const listed = problems.slice(0, MAX_LISTED).map((p) => `  ${formatProblem(p)}`);
    if (problems.length > MAX_LISTED) listed.push(`  ... and ${problems.length - MAX_LISTED} more`);
    super(
      'CONFIG_INVALID',
      `${file}: ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n${listed.join('\n')}`,
      hint,
    );
  }
}

/** Resource limits of the loader; the defaults are far above any real site file. */
export interface LoadLimits {
  /** Largest file accepted, in bytes; checked before the file is read. Default 4 MiB. */
  maxBytes: number;
  /** Deepest nesting of mappings and lists, counting what aliases bring in. Default 64. */
  maxDepth: number;
  /** Most anchors (`&name`), aliases (`*name`) and tags (`!tag`) together in one file. Default 5,000. */
  maxAliasNodes: number;
  /**
   * Most YAML tokens (keys, values, punctuation, comments, blank lines), counted in one streaming
   * pass before the parser builds them (a few hundred bytes each). Default 1,000,000.
   */
  maxTokens: number;
  /** Most YAML syntax errors before the file is refused as not YAML, without composing it. Default 100. */
  maxSyntaxErrors: number;
  /**
   * Most nodes written in the file (keys, values, aliases, flow lists and mappings), counted before
   * the parser builds them (it needs about 1 kB of memory for each). Default 200,000.
   */
  maxNodes: number;
  /** Most values (mappings, lists, scalars) once every alias counts at its full size. Default 200,000. */
  maxValues: number;
}

export const DEFAULT_LOAD_LIMITS: Readonly<LoadLimits> = Object.freeze({
  maxBytes: 4 * 1024 * 1024,
  maxDepth: 64,
  maxAliasNodes: 5_000,
  maxNodes: 200_000,
  maxTokens: 1_000_000,
  maxSyntaxErrors: 100,
  maxValues: 200_000,
});

const SIZE_HINT =
  'a site file is normally well under 1 MB, even with thousands of devices: check that this is the right file';
const ALIAS_HINT =
  'a site file does not need this: write the values out, or reuse fewer anchors (&name / *name)';
const DEPTH_HINT = 'a site file nests a few levels deep: check the indentation and the brackets';

export function formatProblem(p: ConfigProblem): string {
  return `${p.path || '(root)'}${p.line ? ` (line ${p.line})` : ''}: ${p.message}`;
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const k of path) out += typeof k === 'number' ? `[${k}]` : `${out ? '.' : ''}${String(k)}`;
  return out;
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  const text = JSON.stringify(value) ?? String(value);
  return `${typeof value} ${text.length > 80 ? `${text.slice(0, 77)}..."` : text}`;
}

function explain(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return `required ${issue.expected} is missing`;
      return `expected ${issue.expected}, got ${describe(issue.input)}`;
    case 'unrecognized_keys':
      return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys
        .slice(0, 10)
        .map((k) => `"${k.length > 60 ? `${k.slice(0, 60)}...` : k}"`)
        .join(', ')}${issue.keys.length > 10 ? ` and ${issue.keys.length - 10} more` : ''} (check the spelling, or remove it)`;
    case 'invalid_value':
      return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, got ${describe(issue.input)}`;
    case 'invalid_union':
      if (issue.discriminator === 'family') {
        return `unknown family ${describe((issue.input as { family?: unknown })?.family)}; known families: ${DRIVERS.map((d) => d.family).join(', ')}`;
      }
      return issue.message;
    case 'too_small':
    case 'too_big':
      return `${issue.message}${issue.input !== undefined && typeof issue.input !== 'object' ? `, got ${describe(issue.input)}` : ''}`;
    default:
      return issue.message;
  }
}

/** Validates already-parsed data; returns the frozen config or the list of problems. */
export function validateConfig(
  data: unknown,
  lineOf: (path: readonly PropertyKey[]) => number | undefined = () => undefined,
): { ok: true; config: SiteConfig } | { ok: false; problems: ConfigProblem[] } {
  const result = SiteConfig.safeParse(data, { reportInput: true });
  if (!result.success) {
    // Line lookups only for the problems that will be listed (a list of 100,000 wrong items has as many issues).
    const problems = result.error.issues.map((issue, i) => ({
      path: formatPath(issue.path),
      line: i < MAX_LISTED ? lineOf(issue.path) : undefined,
      message: explain(issue),
    }));
    return { ok: false, problems };
  }
  const problems = crossChecks(result.data);
  if (problems.length)
    return { ok: false, problems: problems.map((p) => ({ ...p, line: lineOf(p.rawPath) })) };
  return { ok: true, config: deepFreeze(result.data) };
}

/** Checks that span several drivers: a device id names one device on the whole site. */
function crossChecks(cfg: SiteConfig): (ConfigProblem & { rawPath: PropertyKey[] })[] {
  const seen = new Map<string, string>();
  const driverIds = new Map<string, string>();
  const problems: (ConfigProblem & { rawPath: PropertyKey[] })[] = [];
  cfg.drivers.forEach((d, i) => {
    const prevDriver = driverIds.get(d.id);
    if (prevDriver) {
      const rawPath = ['drivers', i, 'id'];
      problems.push({
        rawPath,
        path: formatPath(rawPath),
        message: `driver id "${d.id}" is already used by ${prevDriver}; give each driver a unique id`,
      });
    } else driverIds.set(d.id, `drivers[${i}]`);
    (d.devices as { id: string }[]).forEach((dev, j) => {
      const rawPath = ['drivers', i, 'devices', j, 'id'];
      const where = formatPath(rawPath);
      const prev = seen.get(dev.id);
      if (prev)
        problems.push({
          rawPath,
          path: where,
          message: `device id "${dev.id}" is already used at ${prev}; device ids must be unique on the site`,
        });
      else seen.set(dev.id, where);
    });
  });
  // No anonymous ops server on an address others can reach, outside demo mode (the metrics name every device).
  if (cfg.http.requireLogin === false && !cfg.demo && !isLoopbackHost(cfg.http.host)) {
    const rawPath = ['http', 'requireLogin'];
    problems.push({
      rawPath,
      path: formatPath(rawPath),
      message: `false is allowed only on a loopback host (127.0.0.1, ::1, localhost) or in demo mode; http.host is "${cfg.http.host}" (give Prometheus http.metricsTokenFile instead)`,
    });
  }
  // Alarm rules against the driver registry: families, event types, actions the family can perform.
  for (const p of checkAlarmConfig(cfg, DRIVERS)) problems.push({ ...p, path: formatPath(p.rawPath) });
  return problems;
}

/** Reads, parses and validates a config file. Throws ConfigError listing every problem. */
export function loadConfig(file: string, limits: Partial<LoadLimits> = {}): SiteConfig {
  const lim = { ...DEFAULT_LOAD_LIMITS, ...limits };
  return parseConfigText(file, readSiteFile(file, lim.maxBytes), lim);
}

/**
 * Reads at most `maxBytes` (+1 to notice more): a regular file is refused on its size before any
 * read, and a pipe or device that streams without end is refused once it passes the limit.
 */
function readSiteFile(file: string, maxBytes: number): string {
  const tooBig = (size: string) =>
    new ConfigError(
      file,
      [{ path: '', message: `the file is ${size}; a site file may be at most ${formatBytes(maxBytes)}` }],
      SIZE_HINT,
    );
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const st = fstatSync(fd);
    if (st.isFile() && st.size > maxBytes) throw tooBig(formatBytes(st.size));
    const buf = Buffer.allocUnsafe(Math.min(maxBytes + 1, st.isFile() ? st.size + 1 : maxBytes + 1));
    let n = 0;
    for (;;) {
      const r = readSync(fd, buf, n, buf.length - n, null);
      if (r === 0) break;
      n += r;
      if (n > maxBytes) throw tooBig(`over ${formatBytes(maxBytes)}`);
      if (n === buf.length) break; // a regular file that grew while read: what was there at open
    }
    return buf.toString('utf8', 0, n);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(file, [
      {
        path: '',
        message: `cannot read the file (${(err as NodeJS.ErrnoException).code ?? err}); check the path`,
      },
    ]);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Parses and validates the text of a site file (`file` names it in messages). Never throws
 * anything but a ConfigError; the limits bound its time and memory whatever the text.
 */
export function parseConfigText(file: string, text: string, limits: Partial<LoadLimits> = {}): SiteConfig {
  const lim = { ...DEFAULT_LOAD_LIMITS, ...limits };
  if (Buffer.byteLength(text, 'utf8') > lim.maxBytes) {
    throw new ConfigError(
      file,
      [{ path: '', message: `the text is over ${formatBytes(lim.maxBytes)}, the most a site file may be` }],
      SIZE_HINT,
    );
  }
  const lineCounter = new LineCounter();
  const lineAt = (offset: number) => lineCounter.linePos(offset).line;
  // Before the parser builds anything (a few hundred bytes a token): one streaming lexer pass.
  const lexical = lexicalScan(text, lim);
  if (lexical) throw new ConfigError(file, [{ path: '', line: lexical.line, message: lexical.message }], lexical.hint);
  // The parser recurses when it closes many block levels at once, so block nesting is bounded on
  // the raw text first (a generous over-estimate); the exact check on the parsed tokens follows.
  const indentLine = blockNestingBeyond(text, lim.maxDepth * 4);
  if (indentLine !== undefined) {
    throw new ConfigError(
      file,
      [{ path: '', line: indentLine, message: `mappings and lists nest more than ${lim.maxDepth} levels deep here` }],
      DEPTH_HINT,
    );
  }
  // Composing and converting recurse too: depth is checked on the tokens in between.
  const tokens = Array.from(new Parser(lineCounter.addNewLine).parse(text));
  const shape = scanTokens(tokens, lim);
  if (shape.problem) {
    throw new ConfigError(
      file,
      [{ path: '', line: lineAt(shape.problem.offset), message: shape.problem.message }],
      shape.problem.hint,
    );
  }
  let doc: Document.Parsed | undefined;
  let second: Document.Parsed | undefined;
  // Each syntax error is an Error object: without stack traces, hundreds of thousands of them
  // (a flood of stray ',' in a list) cost little. Synchronous, so nothing else sees the setting.
  // Unique keys are checked below with a set: the library compares each key with every earlier one.
  const stackTraceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    for (const d of new Composer({ logLevel: 'error', uniqueKeys: false }).compose(tokens, true, text.length)) {
      if (!doc) doc = d;
      else {
        second = d;
        break;
      }
    }
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
  }
  if (!doc) return failValidation(file, validateConfig({}));
  const yamlProblems: ConfigProblem[] = doc.errors.slice(0, lim.maxSyntaxErrors).map((e) => ({
    path: '',
    line: lineAt(e.pos[0]),
    message: `YAML syntax: ${e.message.split('\n')[0]}`,
  }));
  for (const offset of duplicateKeys(doc)) {
    yamlProblems.push({ path: '', line: lineAt(offset), message: 'YAML syntax: Map keys must be unique' });
  }
  if (doc.errors.length > lim.maxSyntaxErrors) {
    yamlProblems.push({
      path: '',
      message: `and ${doc.errors.length - lim.maxSyntaxErrors} more YAML syntax errors: is this a YAML site file?`,
    });
  }
  if (second) {
    yamlProblems.push({
      path: '',
      line: lineAt(second.range[0]),
      message: 'a second YAML document (after "---"); a site file holds one',
    });
  }
  if (yamlProblems.length) throw new ConfigError(file, yamlProblems);
  const parsed = doc;

  const lineOf = (path: readonly PropertyKey[]): number | undefined => {
    for (let n = path.length; n >= 0; n--) {
      const node = parsed.getIn(path.slice(0, n) as unknown[], true);
      if (isNode(node) && node.range) return lineAt(node.range[0]);
    }
    return undefined;
  };
  let data: unknown;
  try {
    // Aliases become shared references here (no copies); their full size is measured just below.
    // The library's own alias budget is off: its accounting walks the whole document per alias.
    data = parsed.toJS({ maxAliasCount: -1 });
  } catch (err) {
    throw new ConfigError(file, [{ path: '', message: `YAML: ${(err as Error).message}` }]);
  }
  const size = measure(data, lim, shape.aliases > 0);
  if (size.problem) {
    throw new ConfigError(
      file,
      [{ path: size.problem.path, line: lineOf(size.problem.rawPath), message: size.problem.message }],
      size.problem.hint,
    );
  }
  return failValidation(file, validateConfig(data ?? {}, lineOf));
}

function failValidation(file: string, result: ReturnType<typeof validateConfig>): SiteConfig {
  if (!result.ok) throw new ConfigError(file, result.problems);
  return result.config;
}

/**
 * One streaming lexer pass (little memory, stops at the first excess) before the parser builds
 * its tokens: counts tokens, nodes, anchors/aliases/tags and documents.
 */
function lexicalScan(text: string, lim: LoadLimits): { line: number; message: string; hint: string } | undefined {
  let tokens = 0;
  let nodes = 0;
  let aliasNodes = 0;
  let docStarts = 0;
  let line = 1;
  const fmt = (n: number) => n.toLocaleString('en');
  for (const lexeme of new Lexer().lex(text)) {
    if (++tokens > lim.maxTokens) {
      return {
        line,
        message: `the file holds more than ${fmt(lim.maxTokens)} YAML tokens (keys, values, punctuation, comments, blank lines)`,
        hint: SIZE_HINT,
      };
    }
    const c = lexeme[0];
    if (lexeme === CST.SCALAR || lexeme === '[' || lexeme === '{' || c === '"' || c === "'" || c === '*') {
      if (++nodes > lim.maxNodes) {
        return { line, message: `the file holds more than ${fmt(lim.maxNodes)} keys and values`, hint: SIZE_HINT };
      }
    }
    if ((c === '*' || c === '&' || c === '!') && ++aliasNodes > lim.maxAliasNodes) {
      return {
        line,
        message: `more than ${fmt(lim.maxAliasNodes)} YAML anchors, aliases and tags (&name, *name, !tag)`,
        hint: ALIAS_HINT,
      };
    }
    if (lexeme === '---' && ++docStarts > 1) {
      return { line, message: 'a second YAML document (after "---"); a site file holds one', hint: FIX_HINT };
    }
    for (let i = lexeme.indexOf('\n'); i >= 0; i = lexeme.indexOf('\n', i + 1)) line++;
  }
  return undefined;
}

/**
 * First line (1-based) where block nesting may exceed `limit`: nested indentation levels plus
 * compact indicators (`- - x`, `? ? x`) at the start of the line. Blank and comment lines are skipped.
 */
function blockNestingBeyond(text: string, limit: number): number | undefined {
  const indents: number[] = [];
  let line = 0;
  for (let pos = 0; pos < text.length; ) {
    line++;
    let end = text.indexOf('\n', pos);
    if (end < 0) end = text.length;
    let i = pos;
    while (i < end && text.charCodeAt(i) === 32) i++;
    const indent = i - pos;
    if (i < end && text[i] !== '#' && text[i] !== '\r') {
      while (indents.length && indents[indents.length - 1]! >= indent) indents.pop();
      indents.push(indent);
      let compact = 0;
      for (;;) {
        const c = text[i];
        const next = text[i + 1];
        if ((c === '-' || c === '?' || c === ':') && (i + 1 >= end || next === ' ' || next === '\t' || next === '\r')) {
          compact++;
          i++;
          while (i < end && (text[i] === ' ' || text[i] === '\t')) i++;
        } else break;
      }
      if (indents.length + compact > limit) return line;
    }
    pos = end + 1;
  }
  return undefined;
}

/** Offsets of scalar keys repeated in their mapping (the nesting depth is already bounded). */
function duplicateKeys(doc: Document.Parsed): number[] {
  const out: number[] = [];
  visit(doc, {
    Map(_key, map) {
      const seen = new Set<unknown>();
      for (const pair of map.items) {
        if (!isScalar(pair.key)) continue;
        if (seen.has(pair.key.value)) out.push(pair.key.range?.[0] ?? 0);
        else seen.add(pair.key.value);
      }
    },
  });
  return out;
}

type ShapeProblem = { offset: number; message: string; hint: string };

/** One iterative pass over the CST: nesting depth, aliases, syntax errors. */
function scanTokens(
  tokens: readonly CST.Token[],
  lim: LoadLimits,
): { aliases: number; problem?: ShapeProblem } {
  let aliases = 0;
  let errors = 0;
  let firstError: CST.ErrorToken | undefined;
  const stack: { t: unknown; depth: number }[] = tokens.map((t) => ({ t, depth: 0 }));
  while (stack.length) {
    const { t, depth } = stack.pop()!;
    if (!t || typeof t !== 'object') continue;
    if (Array.isArray(t)) {
      for (const x of t) stack.push({ t: x, depth });
      continue;
    }
    const tok = t as { type?: string; offset?: number; items?: unknown[] };
    let d = depth;
    switch (tok.type) {
      case 'block-map':
      case 'block-seq':
      case 'flow-collection':
        d = depth + 1;
        if (d > lim.maxDepth) {
          return {
            aliases,
            problem: {
              offset: tok.offset ?? 0,
              message: `mappings and lists nest more than ${lim.maxDepth} levels deep here`,
              hint: DEPTH_HINT,
            },
          };
        }
        break;
      case 'alias':
        aliases++;
        continue;
      case 'error':
        if (++errors === 1) firstError = tok as CST.ErrorToken;
        if (errors > lim.maxSyntaxErrors) {
          return {
            aliases,
            problem: {
              offset: firstError?.offset ?? 0,
              message: `more than ${lim.maxSyntaxErrors} YAML syntax errors, the first here: ${firstError?.message ?? 'unexpected text'}`,
              hint: 'is this a YAML site file? Check it starts like config/examples/demo-compound.yaml',
            },
          };
        }
        continue;
      case undefined: // a collection item: { start, key, sep, value }
        break;
      default:
        if (!('items' in tok || 'value' in tok || 'start' in tok || 'props' in tok || 'sep' in tok))
          continue;
    }
    const o = tok as Record<string, unknown>;
    for (const k of ['start', 'props', 'key', 'sep', 'value', 'items', 'end']) {
      if (o[k] !== undefined) stack.push({ t: o[k], depth: d });
    }
  }
  return { aliases };
}

type SizeProblem = { path: string; rawPath: PropertyKey[]; message: string; hint: string };

/**
 * Size and depth of the parsed value with every alias counted at its full size (what validation
 * would walk), without expanding it: each distinct object is measured once. Iterative; finds cycles.
 */
function measure(root: unknown, lim: LoadLimits, hasAliases: boolean): { problem?: SizeProblem } {
  const done = new Map<object, { values: number; depth: number }>();
  const open = new Set<object>();
  const topKeys =
    root && typeof root === 'object' && !Array.isArray(root) ? Object.keys(root) : [undefined];
  for (const key of topKeys) {
    const start = key === undefined ? root : (root as Record<string, unknown>)[key];
    const rawPath = key === undefined ? [] : [key];
    const at = { path: formatPath(rawPath), rawPath };
    if (!start || typeof start !== 'object') continue;
    const stack: { o: object; entered: boolean }[] = [{ o: start, entered: false }];
    while (stack.length) {
      const top = stack[stack.length - 1]!;
      if (done.has(top.o)) {
        stack.pop();
        continue;
      }
      const children = Object.values(top.o).filter((v): v is object => !!v && typeof v === 'object');
      if (!top.entered) {
        top.entered = true;
        open.add(top.o);
        for (const c of children) {
          if (open.has(c)) {
            return {
              problem: {
                ...at,
                message: 'a YAML alias (*name) refers to a mapping or list that contains it',
                hint: ALIAS_HINT,
              },
            };
          }
          if (!done.has(c)) stack.push({ o: c, entered: false });
        }
        continue;
      }
      stack.pop();
      open.delete(top.o);
      let values = 1;
      let depth = 1;
      for (const v of Object.values(top.o)) {
        const m = v && typeof v === 'object' ? done.get(v) : undefined;
        values += m ? m.values : 1;
        if (m && m.depth + 1 > depth) depth = m.depth + 1;
      }
      if (values > lim.maxValues) {
        return {
          problem: {
            ...at,
            message: hasAliases
              ? `with its aliases (*name) expanded, the file holds more than ${lim.maxValues.toLocaleString('en')} values (an alias bomb?)`
              : `the file holds more than ${lim.maxValues.toLocaleString('en')} values`,
            hint: hasAliases ? ALIAS_HINT : SIZE_HINT,
          },
        };
      }
      if (depth > lim.maxDepth) {
        return {
          problem: {
            ...at,
            message: `with its aliases (*name) expanded, mappings and lists nest more than ${lim.maxDepth} levels deep`,
            hint: ALIAS_HINT,
          },
        };
      }
      done.set(top.o, { values, depth });
    }
  }
  let total = 0;
  for (const key of topKeys) {
    const v = key === undefined ? root : (root as Record<string, unknown>)[key];
    total += (v && typeof v === 'object' ? done.get(v)?.values : undefined) ?? 1;
  }
  if (total > lim.maxValues) {
    return {
      problem: {
        path: '',
        rawPath: [],
        message: `${hasAliases ? 'with its aliases (*name) expanded, ' : ''}the file holds more than ${lim.maxValues.toLocaleString('en')} values`,
        hint: hasAliases ? ALIAS_HINT : SIZE_HINT,
      },
    };
  }
  return {};
}

function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${(n / (1024 * 1024)).toFixed(n % (1024 * 1024) ? 1 : 0)} MB`;
  if (n >= 1024) return `${(n / 1024).toFixed(n % 1024 ? 1 : 0)} kB`;
  return `${n} bytes`;
}

/** Freezes every object once (values shared through aliases are reached again, not re-walked). */
function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
