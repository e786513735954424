import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Codec } from './codec-runner.js';

const input = { bytes: [1, 2, 3], fPort: 5, recvTime: new Date('2026-03-01T08:00:00Z') };
const decode = (source: string, opts?: ConstructorParameters<typeof Codec>[2]) => new Codec('test.js', source, opts).decode(input);
const dir = mkdtempSync(join(tmpdir(), 'codec-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('codec runner', () => {
  it('runs decodeUplink on the bytes, fPort and recvTime and returns its data, warnings and errors', () => {
    const r = decode(`function decodeUplink(input) {
      return { data: { sum: input.bytes.reduce(function (a, b) { return a + b; }, 0), port: input.fPort,
        year: input.recvTime.getUTCFullYear() }, warnings: ['w'] };
    }`);
    expect(r).toEqual({ ok: true, output: { data: { sum: 6, port: 5, year: 2026 }, warnings: ['w'], errors: [] } });
  });

  it('stops a codec that loops forever, in decodeUplink, at top level or in promises, and keeps working', () => {
    for (const source of [
      'function decodeUplink() { for (;;) {} }',
      'while (true) {} function decodeUplink() { return { data: {} }; }',
      'function decodeUplink() { Promise.resolve().then(function f() { return Promise.resolve().then(f); }); return { data: {} }; }',
    ]) {
      const codec = new Codec('test.js', source, { timeoutMs: 30 });
      // The first decode is retried once with ten times the limit before it counts as looping; later ones are not.
      expect(codec.decode(input)).toEqual({ ok: false, failure: 'timeout', message: 'decodeUplink did not finish within 300 ms' });
      expect(codec.decode(input)).toEqual({ ok: false, failure: 'timeout', message: 'decodeUplink did not finish within 30 ms' });
    }
    expect(decode('function decodeUplink() { return { data: { fine: true } }; }').ok).toBe(true);
  });

  it('a decode that runs over the limit by chance (a pause of the machine) is retried once with a longer limit and succeeds', () => {
    // Busy for 60 ms (the input's first byte says how long) against a 30 ms limit: done within the retry's 300 ms.
    const codec = new Codec(
      'slow.js',
      'function decodeUplink(input) { var end = Date.now() + input.bytes[0]; while (Date.now() < end) {} return { data: { ok: true } }; }',
      { timeoutMs: 30 },
    );
    expect(codec.decode({ ...input, bytes: [60] })).toEqual({ ok: true, output: { data: { ok: true }, warnings: [], errors: [] } });
    expect(codec.decode({ ...input, bytes: [0] }).ok).toBe(true);
  });

  it('gives the codec no require, process, timers or eval, and nothing of the gateway to climb out through', () => {
    const r = decode(`function decodeUplink() {
      return { data: { require: typeof require, process: typeof process, timer: typeof setTimeout, buffer: typeof Buffer } };
    }`);
    expect(r.ok && r.output.data).toEqual({ require: 'undefined', process: 'undefined', timer: 'undefined', buffer: 'undefined' });
    for (const escape of [
      "function decodeUplink(input) { return { data: { p: input.constructor.constructor('return process')() } }; }",
      "function decodeUplink() { return { data: { p: this.constructor.constructor('return process')() } }; }",
      "function decodeUplink() { return { data: { p: eval('1 + 1') } }; }",
    ]) {
      const out = decode(escape);
      expect(out.ok).toBe(false);
      expect(!out.ok && out.message).toMatch(/decodeUplink threw: Code generation from strings disallowed/);
    }
  });

  it('freezes the input and starts every decode in a fresh context', () => {
    const source = `var calls = 0;
      function decodeUplink(input) { calls++; input.bytes[0] = 99; input.fPort = 1; return { data: { calls: calls, first: input.bytes[0], port: input.fPort } }; }`;
    const codec = new Codec('state.js', source);
    expect(codec.decode(input)).toMatchObject({ ok: true, output: { data: { calls: 1, first: 1, port: 5 } } });
    expect(codec.decode(input)).toMatchObject({ ok: true, output: { data: { calls: 1, first: 1, port: 5 } } });
    expect(input.bytes).toEqual([1, 2, 3]);
  });

  it('reports a throwing codec, a missing function, a result that is not one, and a result over the size cap', () => {
    expect(decode("function decodeUplink(input) { return { data: { x: input.bytes[7].toFixed() } }; }")).toMatchObject({
      ok: false,
      failure: 'error',
      message: expect.stringMatching(/^decodeUplink threw: Cannot read properties of undefined/),
    });
    expect(decode('function decode(bytes) { return {}; }')).toMatchObject({
      message: 'decodeUplink threw: the codec defines no decodeUplink(input) function',
    });
    expect(decode('function decodeUplink() { return { data: 5 }; }')).toMatchObject({
      failure: 'error',
      message: expect.stringMatching(/^decodeUplink must return \{data, warnings, errors\}: data:/),
    });
    expect(decode('function decodeUplink() {}')).toMatchObject({ failure: 'error', message: 'decodeUplink returned no result' });
    expect(decode('function decodeUplink() { return {}; }')).toMatchObject({ ok: true, output: { data: {}, errors: [] } });
    expect(decode("function decodeUplink() { return { data: { s: 'x'.repeat(5000) } }; }", { maxOutputBytes: 4096 })).toMatchObject({
      failure: 'error',
      message: expect.stringMatching(/more than the 4096 allowed/),
    });
  });

  it('loads a codec file, and names the file when it is missing or not JavaScript', () => {
    const good = join(dir, 'good.js');
    writeFileSync(good, 'function decodeUplink(input) { return { data: { n: input.bytes.length } }; }');
    expect(Codec.fromFile(good).decode(input)).toMatchObject({ ok: true, output: { data: { n: 3 } } });
    const bad = join(dir, 'bad.js');
    writeFileSync(bad, 'function decodeUplink(input) {\n  return {\n');
    expect(() => Codec.fromFile(bad)).toThrow(`codec file ${bad} is not valid JavaScript (line 3): Unexpected end of input`);
    expect(() => Codec.fromFile(join(dir, 'none.js'))).toThrow(`cannot read codec file ${join(dir, 'none.js')}: ENOENT`);
  });
});
