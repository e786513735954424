/**
 * Loads a site configuration: YAML -> zod -> frozen object. Every problem is reported
 * at once, each with its path in the file, its line, what was wrong and how to fix it.
 *
 * A site file is untrusted input of bounded size: the limits and their checks (size, tokens,
 * nesting, aliases) are in yaml-limits.ts; this file applies them, each before the step it
 * protects, so that time and memory of a load are bounded whatever the text.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { Composer, type CST, type Document, isNode, LineCounter, Parser } from 'yaml';
import type { z } from 'zod';
import { DEFINITIONS, familyDefinition } from '../drivers/index.js';
import { checkAlarmConfig } from '../gateway/alarms/check-rules.js';
import { GatewayError } from '../gateway/core/errors.js';
import { isLoopbackHost } from '../gateway/http/http-auth.js';
import { quickParse } from './quick-parse.js';
import { SiteConfig } from './schema.js';
import {
  blockNestingBeyond,
  DEFAULT_LOAD_LIMITS,
  DEPTH_HINT,
  duplicateKeys,
  formatBytes,
  lexicalScan,
  type LoadLimits,
  measure,
  scanTokens,
  SIZE_HINT,
} from './yaml-limits.js';

export { DEFAULT_LOAD_LIMITS, type LoadLimits } from './yaml-limits.js';

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
        return `unknown family ${describe((issue.input as { family?: unknown })?.family)}; known families: ${DEFINITIONS.map((d) => d.family).join(', ')}`;
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
  // Each driver instance against the rest of the site, by its family's own check.
  cfg.drivers.forEach((d, i) => {
    for (const p of familyDefinition(d.family)?.checkSite?.(d, cfg.site) ?? []) {
      const rawPath = ['drivers', i, ...p.path];
      problems.push({ rawPath, path: formatPath(rawPath), message: p.message });
    }
  });
  // Alarm rules against the family registry: families, event types, actions the family can perform.
  for (const p of checkAlarmConfig(cfg, DEFINITIONS)) problems.push({ ...p, path: formatPath(p.rawPath) });
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
 * `quick: false`: the full parse alone (what the fast path, quick-parse.ts, must agree with).
 */
export function parseConfigText(
  file: string,
  text: string,
  limits: Partial<LoadLimits> = {},
  { quick = true }: { quick?: boolean } = {},
): SiteConfig {
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
  // A valid file, the usual case, is read quickly; any problem is found and placed by the full parse below.
  const quickData = quick ? quickParse(text, lim) : undefined;
  if (quickData !== undefined) {
    const result = validateConfig(quickData);
    if (result.ok) return result.config;
  }
  const { doc, second, aliases } = composeDocument(file, text, lim, lineCounter);
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
  const size = measure(data, lim, aliases > 0);
  if (size.problem) {
    throw new ConfigError(
      file,
      [{ path: formatPath(size.problem.rawPath), line: lineOf(size.problem.rawPath), message: size.problem.message }],
      size.problem.hint,
    );
  }
  return failValidation(file, validateConfig(data ?? {}, lineOf));
}

/**
 * Parses the text into its first YAML document (and the start of a second, if any). The parser's
 * tokens (about 120 MB for a 20,000-device site file) are garbage once this returns.
 */
function composeDocument(
  file: string,
  text: string,
  lim: LoadLimits,
  lineCounter: LineCounter,
): { doc?: Document.Parsed; second?: Document.Parsed; aliases: number } {
  const lineAt = (offset: number) => lineCounter.linePos(offset).line;
  // One lexer pass: the parser takes each lexeme once it is counted within the limits (a few
  // hundred bytes a token), so it stops at the first excess.
  const parser = new Parser(lineCounter.addNewLine);
  const tokens: CST.Token[] = [];
  const take = (lexeme: string) => {
    for (const t of parser.next(lexeme)) tokens.push(t);
  };
  lineCounter.addNewLine(0);
  const lexical = withPlainEnv(() => {
    const problem = lexicalScan(text, lim, take);
    if (!problem) for (const t of parser.end()) tokens.push(t);
    return problem;
  });
  if (lexical) {
    throw new ConfigError(file, [{ path: '', line: lexical.line, message: lexical.message }], lexical.hint);
  }
  // Composing and converting recurse too: depth is checked on the tokens in between.
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
  return { doc, second, aliases: shape.aliases };
}

/**
 * Runs `fn` with process.env a plain copy of itself. The YAML parser reads process.env.LOG_TOKENS
 * for every token, and each read of the real process.env asks the C library's environment: about a
 * quarter of the parse of a 20,000-device site file. Synchronous, so nothing else sees the copy.
 */
function withPlainEnv<T>(fn: () => T): T {
  const env = process.env;
  process.env = { ...env };
  try {
    return fn();
  } finally {
    process.env = env;
  }
}

function failValidation(file: string, result: ReturnType<typeof validateConfig>): SiteConfig {
  if (!result.ok) throw new ConfigError(file, result.problems);
  return result.config;
}

/** Freezes every object once (values shared through aliases are reached again, not re-walked). */
function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
