/**
 * Loads a site configuration: YAML -> zod -> frozen object. Every problem is reported
 * at once, each with its path in the file, its line, what was wrong and how to fix it.
 */
import { readFileSync } from 'node:fs';
import { isNode, LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { DRIVERS } from '../drivers/index.js';
import { checkAlarmConfig } from '../gateway/alarms/check-rules.js';
import { GatewayError } from '../gateway/core/errors.js';
import { SiteConfig } from './schema.js';

export interface ConfigProblem {
  /** e.g. `drivers[2].transport.port` */
  path: string;
  line?: number;
  message: string;
}

export class ConfigError extends GatewayError {
  constructor(
    readonly file: string,
    readonly problems: ConfigProblem[],
  ) {
    super(
      'CONFIG_INVALID',
      `${file}: ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n${problems.map((p) => `  ${formatProblem(p)}`).join('\n')}`,
      'fix the paths above, then run `gateway check-config <file>` again',
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
  return `${typeof value} ${JSON.stringify(value)}`;
}

function explain(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return `required ${issue.expected} is missing`;
      return `expected ${issue.expected}, got ${describe(issue.input)}`;
    case 'unrecognized_keys':
      return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')} (check the spelling, or remove it)`;
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
    const problems = result.error.issues.map((issue) => ({
      path: formatPath(issue.path),
      line: lineOf(issue.path),
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
  // Alarm rules against the driver registry: families, event types, actions the family can perform.
  for (const p of checkAlarmConfig(cfg, DRIVERS)) problems.push({ ...p, path: formatPath(p.rawPath) });
  return problems;
}

/** Reads, parses and validates a config file. Throws ConfigError listing every problem. */
export function loadConfig(file: string): SiteConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [
      {
        path: '',
        message: `cannot read the file (${(err as NodeJS.ErrnoException).code ?? err}); check the path`,
      },
    ]);
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true });
  if (doc.errors.length) {
    throw new ConfigError(
      file,
      doc.errors.map((e) => ({
        path: '',
        line: e.linePos?.[0]?.line,
        message: `YAML syntax: ${e.message.split('\n')[0]}`,
      })),
    );
  }
  const lineOf = (path: readonly PropertyKey[]): number | undefined => {
    for (let n = path.length; n >= 0; n--) {
      const node = doc.getIn(path.slice(0, n) as unknown[], true);
      if (isNode(node) && node.range) return lineCounter.linePos(node.range[0]).line;
    }
    return undefined;
  };
  const result = validateConfig(doc.toJS() ?? {}, lineOf);
  if (!result.ok) throw new ConfigError(file, result.problems);
  return result.config;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
