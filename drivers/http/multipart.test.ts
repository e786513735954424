import { describe, expect, it } from 'vitest';
import { MultipartError, parseMultipart } from './multipart.js';

const B = 'MIME_boundary_x';
const TYPE = `multipart/form-data; boundary=${B}`;

function body(parts: { name: string; type?: string; filename?: string; data: string | Buffer }[], end = true): Buffer {
  const chunks: Buffer[] = [];
  for (const p of parts) {
    const disposition = `form-data; name="${p.name}"${p.filename ? `; filename="${p.filename}"` : ''}`;
    chunks.push(Buffer.from(`--${B}\r\nContent-Disposition: ${disposition}\r\n${p.type ? `Content-Type: ${p.type}\r\n` : ''}\r\n`));
    chunks.push(Buffer.isBuffer(p.data) ? p.data : Buffer.from(p.data));
    chunks.push(Buffer.from('\r\n'));
  }
  if (end) chunks.push(Buffer.from(`--${B}--\r\n`));
  return Buffer.concat(chunks);
}

async function refusal(p: Promise<unknown>): Promise<MultipartError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(MultipartError);
  return err as MultipartError;
}

describe('parseMultipart', () => {
  it('gives text fields and files with their names, types and bytes', async () => {
    const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 1, 2, 0xff, 0xd9]);
    const parts = await parseMultipart(
      body([
        { name: 'AccessControllerEvent', type: 'application/json', data: '{"a":1}' },
        { name: 'Picture', type: 'image/jpeg', filename: 'Picture.jpg', data: jpeg },
      ]),
      TYPE,
    );
    expect(parts).toHaveLength(2);
    expect(parts[0]).toMatchObject({ name: 'AccessControllerEvent', mimeType: 'application/json' });
    expect(parts[0]!.data.toString()).toBe('{"a":1}');
    expect(parts[1]).toMatchObject({ name: 'Picture', mimeType: 'image/jpeg', filename: 'Picture.jpg' });
    expect(parts[1]!.data.equals(jpeg)).toBe(true);
  });

  it('refuses a body without a boundary or of another type (shape)', async () => {
    expect(await refusal(parseMultipart(body([{ name: 'a', data: 'x' }]), 'multipart/form-data'))).toMatchObject({ reason: 'shape' });
    expect(await refusal(parseMultipart(Buffer.from('{}'), 'application/json'))).toMatchObject({ reason: 'shape' });
    expect(await refusal(parseMultipart(Buffer.from('{}'), undefined))).toMatchObject({ reason: 'shape' });
  });

  it('refuses a body cut off before its closing boundary (shape)', async () => {
    const err = await refusal(parseMultipart(body([{ name: 'a', data: 'x'.repeat(100) }], false).subarray(0, 80), TYPE));
    expect(err.reason).toBe('shape');
    expect(err.message).toMatch(/malformed multipart/);
  });

  it('refuses a file, a field or a part count over the limits (too-large)', async () => {
    const limits = { maxParts: 2, maxFieldBytes: 10, maxFileBytes: 10 };
    const bigFile = body([{ name: 'Picture', type: 'image/jpeg', filename: 'p.jpg', data: Buffer.alloc(11) }]);
    expect(await refusal(parseMultipart(bigFile, TYPE, limits))).toMatchObject({ reason: 'too-large', message: /file part "Picture"/ });
    const bigField = body([{ name: 'json', data: 'x'.repeat(11) }]);
    expect(await refusal(parseMultipart(bigField, TYPE, limits))).toMatchObject({ reason: 'too-large', message: /field "json"/ });
    const many = body([1, 2, 3].map((i) => ({ name: `f${i}`, data: 'x' })));
    expect(await refusal(parseMultipart(many, TYPE, limits))).toMatchObject({ reason: 'too-large', message: /more than 2 parts/ });
    // At the limits exactly: accepted.
    const atLimit = body([
      { name: 'json', data: 'x'.repeat(10) },
      { name: 'Picture', type: 'image/jpeg', filename: 'p.jpg', data: Buffer.alloc(10) },
    ]);
    expect((await parseMultipart(atLimit, TYPE, limits)).map((p) => p.data.length)).toEqual([10, 10]);
  });
});
