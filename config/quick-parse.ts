/**
 * The site-file loader's fast path (config/load.ts): a valid file read with js-yaml, about ten
 * times faster than the full parse with `yaml`, whose concrete syntax tree (a few hundred bytes per
 * token) the loader needs only to place a problem on its line. With 20,000 devices the full parse
 * took about 1.9 s of a 3.2 s start, js-yaml 0.2 s.
 *
 * The fast path answers only when the file is within every limit of the full parse and js-yaml
 * reads it without complaint; anything else (a syntax error, a duplicate key, a second document,
 * an alias bomb, a value of the wrong type) goes to the full parse, which finds and places the
 * problem. Scalars resolve as the full parse resolves them: the YAML 1.2 core schema
 * (yaml.org/spec/1.2.2/#1032-tag-resolution), as the `yaml` package implements it, with no
 * timestamps, binary numbers or merge keys (`<<`), which js-yaml's own schemas add.
 */
import jsYaml from 'js-yaml';
import { type LoadLimits, lexicalScan, measure } from './yaml-limits.js';

/**
 * One implicit scalar type per tag (js-yaml keeps the last type of a tag): the first matching
 * pattern constructs. `first`: the characters such a scalar may start with (most plain scalars are
 * words, settled by that without a pattern).
 */
const scalar = (tag: string, first: string, forms: [test: RegExp, construct: (s: string) => unknown][]) =>
  new jsYaml.Type(`tag:yaml.org,2002:${tag}`, {
    kind: 'scalar',
    resolve: (s: string | null) => first.includes((s ?? '')[0] ?? '') && forms.some(([test]) => test.test(s ?? '')),
    construct: (s: string | null) => forms.find(([test]) => test.test(s ?? ''))![1](s ?? ''),
  });
const NUMBER_START = '0123456789+-.';

/** The core schema's scalars, with the `yaml` package's patterns and constructors (its schema/core), in its order. */
const CORE = jsYaml.FAILSAFE_SCHEMA.extend({
  implicit: [
    scalar('null', '~nN', [[/^(?:~|[Nn]ull|NULL)?$/, () => null]]),
    scalar('bool', 'tTfF', [[/^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/, (s) => s[0] === 't' || s[0] === 'T']]),
    scalar('int', NUMBER_START, [
      [/^0o[0-7]+$/, (s) => parseInt(s.slice(2), 8)],
      [/^[-+]?[0-9]+$/, (s) => parseInt(s, 10)],
      [/^0x[0-9a-fA-F]+$/, (s) => parseInt(s.slice(2), 16)],
    ]),
    scalar('float', NUMBER_START, [
      [/^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/, (s) => (/nan$/i.test(s) ? NaN : s[0] === '-' ? -Infinity : Infinity)],
      [/^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/, parseFloat],
      [/^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/, parseFloat],
    ]),
  ],
});

/** The value of a site file that is well-formed and within the limits; undefined for anything else. */
export function quickParse(text: string, lim: LoadLimits): unknown {
  // The token counts of the full parse (the lexer alone is quick): a file it would refuse is left to
  // it. So is a mapping key that is not a scalar (`? key` or `[a, b]: value`): js-yaml makes it text
  // its own way, and the full parse counts its nesting.
  let complexKey = false;
  let closed = false;
  const take = (lexeme: string) => {
    if (lexeme === '?' || (closed && lexeme === ':')) complexKey = true;
    if (lexeme === ']' || lexeme === '}') closed = true;
    else if (lexeme[0] !== ' ' && lexeme[0] !== '\t') closed = false;
  };
  if (lexicalScan(text, lim, take) || complexKey) return undefined;
  let data: unknown;
  try {
    // Throws on a syntax error, a duplicate key, a second document, an unknown tag; RangeError on a
    // nesting deep enough to exhaust the stack.
    data = jsYaml.load(text, { schema: CORE });
  } catch {
    return undefined;
  }
  if (data === undefined || data === null) return undefined;
  // The full parse counts the document's own mapping as the first level of nesting: one less here.
  return measure(data, { ...lim, maxDepth: lim.maxDepth - 1 }, true).problem ? undefined : data;
}
