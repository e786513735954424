/**
 * Runs a device model's payload codec: a JavaScript file defining `decodeUplink(input)` as
 * device vendors and the public TTN device repository publish them (LoRaWAN Payload Codec API:
 * `input = {bytes, fPort, recvTime}` -> `{data, warnings, errors}`).
 *
 * Each decode runs in a fresh `node:vm` context: only the JavaScript builtins (no `require`,
 * `process`, timers or I/O), string code generation off (no `eval`), the input built inside the
 * context and frozen, the whole run (top-level code, the call, promises it queues, serialising the
 * result) bounded by `timeoutMs`, and the result capped at `maxOutputBytes` of JSON. This keeps a
 * codec with a bug (an endless loop, a throw on a short payload, a huge result) from stopping the
 * driver; it is not a sandbox for hostile code (node:vm is no security boundary, and memory is
 * not bounded): codecs are chosen by the installer, like the site file.
 */
import { readFileSync } from 'node:fs';
import vm from 'node:vm';
import { z } from 'zod';

export interface CodecInput {
  bytes: readonly number[];
  fPort: number;
  recvTime: Date;
}

export interface CodecOutput {
  data: Record<string, unknown>;
  warnings: string[];
  errors: string[];
}

export type DecodeResult =
  | { ok: true; output: CodecOutput }
  /** `timeout`: stopped by the time limit; `error`: threw, or returned something that is not a result. */
  | { ok: false; failure: 'timeout' | 'error'; message: string };

export interface CodecOptions {
  timeoutMs?: number;
  maxOutputBytes?: number;
}

export const DEFAULT_CODEC_TIMEOUT_MS = 50;
export const DEFAULT_MAX_OUTPUT_BYTES = 16 * 1024;

const Output = z.object({
  data: z.record(z.string(), z.unknown()).default({}),
  warnings: z.array(z.coerce.string()).default([]),
  errors: z.array(z.coerce.string()).default([]),
});

// Runs after the codec's own code, in the same context: builds the frozen input from JSON (so no
// object of the gateway's realm is reachable from the codec) and returns the result as JSON.
const HARNESS = `
;(function () {
  'use strict';
  if (typeof decodeUplink !== 'function') throw new Error('the codec defines no decodeUplink(input) function');
  var raw = JSON.parse(__codecInput);
  var input = { bytes: Object.freeze(raw.bytes), fPort: raw.fPort, recvTime: new Date(raw.recvTime) };
  var out = decodeUplink(Object.freeze(input));
  return JSON.stringify(out);
})();
`;

export class Codec {
  private readonly script: vm.Script;
  private readonly timeoutMs: number;
  private readonly maxOutputBytes: number;

  /** Compiles the codec; throws a SyntaxError naming the file and line when it does not parse. */
  constructor(
    readonly name: string,
    source: string,
    opts: CodecOptions = {},
  ) {
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_CODEC_TIMEOUT_MS;
    this.maxOutputBytes = opts.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
    // Compiled alone first, so that a syntax error is the codec's and not one of the harness.
    new vm.Script(source, { filename: name });
    // The harness is on lines after the codec's, so the codec's line numbers in errors stay right.
    this.script = new vm.Script(`${source}\n${HARNESS}`, { filename: name });
  }

  /** Reads and compiles a codec file; the error names the file and says what is wrong. */
  static fromFile(path: string, opts?: CodecOptions): Codec {
    let source: string;
    try {
      source = readFileSync(path, 'utf8');
    } catch (err) {
      throw new Error(`cannot read codec file ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, {
        cause: err,
      });
    }
    try {
      return new Codec(path, source, opts);
    } catch (err) {
      const line = /:(\d+)$/.exec(String((err as { stack?: unknown }).stack).split('\n')[0] ?? '')?.[1];
      throw new Error(`codec file ${path} is not valid JavaScript${line ? ` (line ${line})` : ''}: ${messageOf(err)}`, {
        cause: err,
      });
    }
  }

  /** Set once a run timed out even with the retry's longer limit: the codec loops, no more retries. */
  private loops = false;

  /**
   * The limit is wall-clock time, which a GC pause or the first compile in a fresh context can use
   * up on a loaded machine: a timed-out decode is retried once with ten times the limit, so a smoke
   * alarm is not refused by chance. A codec that times out on the retry too is taken as looping.
   */
  decode(input: CodecInput): DecodeResult {
    const first = this.run(input, this.timeoutMs);
    if (first.ok || first.failure !== 'timeout' || this.loops) return first;
    const second = this.run(input, this.timeoutMs * 10);
    if (!second.ok && second.failure === 'timeout') this.loops = true;
    return second;
  }

  private run(input: CodecInput, timeoutMs: number): DecodeResult {
    const context = vm.createContext(Object.create(null) as object, {
      codeGeneration: { strings: false, wasm: false },
      // Promises the codec queues run inside the time limit too, not after it.
      microtaskMode: 'afterEvaluate',
    });
    (context as Record<string, unknown>).__codecInput = JSON.stringify({
      bytes: [...input.bytes],
      fPort: input.fPort,
      recvTime: input.recvTime.getTime(),
    });
    let text: unknown;
    try {
      text = this.script.runInContext(context, { timeout: timeoutMs, breakOnSigint: false });
    } catch (err) {
      if ((err as { code?: unknown } | null)?.code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') {
        return { ok: false, failure: 'timeout', message: `decodeUplink did not finish within ${timeoutMs} ms` };
      }
      return { ok: false, failure: 'error', message: `decodeUplink threw: ${messageOf(err)}` };
    }
    if (typeof text !== 'string') return { ok: false, failure: 'error', message: 'decodeUplink returned no result' };
    if (text.length > this.maxOutputBytes) {
      return {
        ok: false,
        failure: 'error',
        message: `decodeUplink returned ${text.length} bytes of JSON, more than the ${this.maxOutputBytes} allowed`,
      };
    }
    const out = Output.safeParse(JSON.parse(text));
    if (!out.success) {
      return {
        ok: false,
        failure: 'error',
        message: `decodeUplink must return {data, warnings, errors}: ${out.error.issues.map((i) => `${i.path.join('.') || 'result'}: ${i.message}`).join('; ')}`,
      };
    }
    return { ok: true, output: out.data };
  }
}

/** The message of an error thrown in another realm (instanceof Error does not hold there). */
function messageOf(err: unknown): string {
  const m = (err as { message?: unknown } | null)?.message;
  return typeof m === 'string' ? m : String(err);
}
