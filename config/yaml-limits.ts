/**
 * The YAML safety limits of the site-file loader (config/load.ts). A site file is untrusted input;
 * these checks bound the time and memory of a load whatever the text, guarding against oversized
 * files, alias bombs (a YAML "billion laughs", or an alias that refers to itself), deep nesting
 * (the parser and composer recurse) and token floods (the parser needs memory for every token and
 * node before anything can be validated).
 *
 * A file is refused before parsing when it is larger than `maxBytes` or nests its blocks far too
 * deep; while parsing (the lexer counts each token before the parser takes it) when it holds more
 * than `maxTokens` tokens or `maxNodes` keys and values; before composing when it nests deeper
 * than `maxDepth`, holds more anchors and aliases than `maxAliasNodes` or more syntax errors than
 * `maxSyntaxErrors`; and before validation when its aliases would expand it beyond `maxValues` or
 * make it refer to itself.
 */
import { CST, type Document, isScalar, Lexer, visit } from 'yaml';

/**
 * Resource limits of the loader. The defaults take a site of about 40,000 devices (a 20,000-device
 * site file is about 2.5 MB, 900,000 tokens, and takes about 300 MB of memory to load; a hostile
 * file just under the limits, e.g. a flood of tokens, up to about 2 GB, once, at start).
 */
export interface LoadLimits {
  /** Largest file accepted, in bytes; checked before the file is read. Default 8 MiB. */
  maxBytes: number;
  /** Deepest nesting of mappings and lists, counting what aliases bring in. Default 64. */
  maxDepth: number;
  /** Most anchors (`&name`), aliases (`*name`) and tags (`!tag`) together in one file. Default 5,000. */
  maxAliasNodes: number;
  /**
   * Most YAML tokens (keys, values, punctuation, comments, blank lines), each counted before the
   * parser takes it (the parser needs a few hundred bytes for each). Default 2,000,000.
   */
  maxTokens: number;
  /** Most YAML syntax errors before the file is refused as not YAML, without composing it. Default 100. */
  maxSyntaxErrors: number;
  /**
   * Most nodes written in the file (keys, values, aliases, flow lists and mappings), each counted
   * before the parser takes it (it needs about 1 kB of memory for each). Default 800,000.
   */
  maxNodes: number;
  /** Most values (mappings, lists, scalars) once every alias counts at its full size. Default 1,000,000. */
  maxValues: number;
}

export const DEFAULT_LOAD_LIMITS: Readonly<LoadLimits> = Object.freeze({
  maxBytes: 8 * 1024 * 1024,
  maxDepth: 64,
  maxAliasNodes: 5_000,
  maxNodes: 800_000,
  maxTokens: 2_000_000,
  maxSyntaxErrors: 100,
  maxValues: 1_000_000,
});

export const SIZE_HINT =
  'a site file of 20,000 devices is about 2.5 MB: check that this is the right file';
const ALIAS_HINT =
  'a site file does not need this: write the values out, or reuse fewer anchors (&name / *name)';
export const DEPTH_HINT = 'a site file nests a few levels deep: check the indentation and the brackets';

/**
 * The one lexer pass of a load: counts tokens, nodes, anchors/aliases/tags and documents, and hands
 * each lexeme to `take` (the parser) only once it is within the limits: the parser stops at the first
 * excess, having built no more than it would for a file at the limits. Without a hint, the loader's
 * usual one applies.
 */
export function lexicalScan(
  text: string,
  lim: LoadLimits,
  take: (lexeme: string) => void = () => undefined,
): { line: number; message: string; hint?: string } | undefined {
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
      return { line, message: 'a second YAML document (after "---"); a site file holds one' };
    }
    take(lexeme);
    for (let i = lexeme.indexOf('\n'); i >= 0; i = lexeme.indexOf('\n', i + 1)) line++;
  }
  return undefined;
}

/**
 * First line (1-based) where block nesting may exceed `limit`: nested indentation levels plus
 * compact indicators (`- - x`, `? ? x`) at the start of the line. Blank and comment lines are skipped.
 */
export function blockNestingBeyond(text: string, limit: number): number | undefined {
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
export function duplicateKeys(doc: Document.Parsed): number[] {
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

const TOKEN_PARTS = ['start', 'props', 'key', 'sep', 'value', 'items', 'end'] as const;

export type ShapeProblem = { offset: number; message: string; hint: string };

/** One iterative pass over the CST: nesting depth, aliases, syntax errors. */
export function scanTokens(
  tokens: readonly CST.Token[],
  lim: LoadLimits,
): { aliases: number; problem?: ShapeProblem } {
  let aliases = 0;
  let errors = 0;
  let firstError: CST.ErrorToken | undefined;
  // Two stacks side by side: the token and its depth (no object per token to collect).
  const stack: unknown[] = [...tokens];
  const depths: number[] = tokens.map(() => 0);
  while (stack.length) {
    const t = stack.pop();
    const depth = depths.pop()!;
    if (!t || typeof t !== 'object') continue;
    if (Array.isArray(t)) {
      for (const x of t) {
        stack.push(x);
        depths.push(depth);
      }
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
    for (const k of TOKEN_PARTS) {
      if (o[k] !== undefined) {
        stack.push(o[k]);
        depths.push(d);
      }
    }
  }
  return { aliases };
}

/** `rawPath`: the top-level key in whose value the problem was found, or [] for the whole file. */
export type SizeProblem = { rawPath: PropertyKey[]; message: string; hint: string };

/**
 * Size and depth of the parsed value with every alias counted at its full size (what validation
 * would walk), without expanding it: each distinct object is measured once. Iterative; finds cycles.
 */
export function measure(root: unknown, lim: LoadLimits, hasAliases: boolean): { problem?: SizeProblem } {
  const done = new Map<object, { values: number; depth: number }>();
  const open = new Set<object>();
  const topKeys =
    root && typeof root === 'object' && !Array.isArray(root) ? Object.keys(root) : [undefined];
  for (const key of topKeys) {
    const start = key === undefined ? root : (root as Record<string, unknown>)[key];
    const rawPath = key === undefined ? [] : [key];
    const at = { rawPath };
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
        rawPath: [],
        message: `${hasAliases ? 'with its aliases (*name) expanded, ' : ''}the file holds more than ${lim.maxValues.toLocaleString('en')} values`,
        hint: hasAliases ? ALIAS_HINT : SIZE_HINT,
      },
    };
  }
  return {};
}

export function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${(n / (1024 * 1024)).toFixed(n % (1024 * 1024) ? 1 : 0)} MB`;
  if (n >= 1024) return `${(n / 1024).toFixed(n % 1024 ? 1 : 0)} kB`;
  return `${n} bytes`;
}

