/**
 * `multipart/form-data` bodies (RFC 7578) parsed with busboy within limits: at most `maxParts`
 * parts, each text field at most `maxFieldBytes`, each file at most `maxFileBytes`. Anything over
 * a limit or not well formed rejects with a `MultipartError` that says which (`too-large` or
 * `shape`) and why, so the caller can answer 413 or 400 and count the refusal.
 *
 * The body is read first (bounded, e.g. with the driver host's `ctx.http.body`), then parsed here.
 */
import { Readable } from 'node:stream';
import busboy from 'busboy';

export interface MultipartLimits {
  /** Parts of any kind (default 8). */
  maxParts?: number;
  /** Bytes of one text field (default 256 KiB). */
  maxFieldBytes?: number;
  /** Bytes of one file (default 2 MiB). */
  maxFileBytes?: number;
}

export interface MultipartPart {
  /** The part's `name` from its Content-Disposition. */
  name: string;
  /** The part's Content-Type (`text/plain` when it has none). */
  mimeType: string;
  /** Set for a file part (a `filename` in its Content-Disposition). */
  filename?: string;
  data: Buffer;
}

export class MultipartError extends Error {
  override readonly name = 'MultipartError';
  constructor(
    readonly reason: 'shape' | 'too-large',
    message: string,
  ) {
    super(message);
  }
}

/** Parses a whole multipart body; `contentType` is the request's Content-Type header (with its boundary). */
export function parseMultipart(body: Buffer, contentType: string | undefined, limits: MultipartLimits = {}): Promise<MultipartPart[]> {
  const maxParts = limits.maxParts ?? 8;
  const maxFieldBytes = limits.maxFieldBytes ?? 256 * 1024;
  const maxFileBytes = limits.maxFileBytes ?? 2 * 1024 * 1024;
  return new Promise((resolve, reject) => {
    let bb: busboy.Busboy;
    try {
      bb = busboy({
        headers: { 'content-type': contentType ?? '' },
        // busboy reports a limit when it is reached (the closing boundary counts as a part, a
        // value of exactly the limit as truncated): its limits are one above ours.
        limits: {
          parts: maxParts + 1,
          fields: maxParts,
          files: maxParts,
          fieldSize: maxFieldBytes + 1,
          fileSize: maxFileBytes + 1,
        },
      });
    } catch (err) {
      // busboy throws for a missing boundary or a type that is not multipart.
      return reject(new MultipartError('shape', `not multipart/form-data with a boundary: ${(err as Error).message}`));
    }
    const parts: MultipartPart[] = [];
    let failed: MultipartError | undefined;
    const fail = (e: MultipartError) => {
      failed ??= e;
    };
    bb.on('field', (name, value, info) => {
      if (info.valueTruncated) fail(new MultipartError('too-large', `field "${name}" larger than ${maxFieldBytes} bytes`));
      else parts.push({ name, mimeType: info.mimeType, data: Buffer.from(value, 'utf8') });
    });
    bb.on('file', (name, stream, info) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('limit', () => fail(new MultipartError('too-large', `file part "${name}" larger than ${maxFileBytes} bytes`)));
      stream.on('close', () => {
        parts.push({ name, mimeType: info.mimeType, filename: info.filename ?? '', data: Buffer.concat(chunks) });
      });
    });
    const tooMany = () => fail(new MultipartError('too-large', `more than ${maxParts} parts`));
    bb.on('partsLimit', tooMany).on('filesLimit', tooMany).on('fieldsLimit', tooMany);
    bb.on('error', (err: Error) => reject(failed ?? new MultipartError('shape', `malformed multipart body: ${err.message}`)));
    bb.on('close', () => (failed ? reject(failed) : resolve(parts)));
    Readable.from([body]).pipe(bb);
  });
}
