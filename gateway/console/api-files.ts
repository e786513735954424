/**
 * `GET /console/api/files/<ref>` (reader): a file of the drivers' file store (a camera snapshot,
 * a gate picture) by the ref an event or an alarm's history holds, e.g.
 * `cam-line/2026-11-30/<uuid>.jpg` (URL-encoded as one path segment). Only pictures inside the
 * store are served: a ref with `..`, an absolute path, a link leading out of the store or a file
 * type that is not a picture is refused.
 */
import { realpathSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, sep } from 'node:path';
import { type ApiRouter, HttpError } from './console-router.js';

const TYPES: Record<string, string> = {
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
};

/** The absolute path of `ref` inside `dir`, or an HttpError saying why it is refused. */
export function resolveFileRef(dir: string, ref: string): { path: string; type: string } {
  const parts = ref.split('/');
  if (!ref || isAbsolute(ref) || ref.includes('\\') || ref.includes('\0') || parts.some((p) => p === '' || p === '.' || p === '..')) {
    throw new HttpError(400, `file ref "${ref}" is not a path inside the file store (no "..", no leading "/")`);
  }
  const type = TYPES[ref.slice(ref.lastIndexOf('.') + 1).toLowerCase()];
  if (!type) throw new HttpError(403, `file ref "${ref}": only pictures (${Object.keys(TYPES).join(', ')}) are served`);
  let root: string, path: string;
  try {
    root = realpathSync(dir);
    path = realpathSync(join(root, ...parts));
  } catch {
    throw new HttpError(404, `no file ${ref} (deleted when the file budget was reached, or never stored)`);
  }
  if (!path.startsWith(root + sep) || !statSync(path).isFile()) throw new HttpError(403, `file ref "${ref}" leads out of the file store`);
  return { path, type };
}

export function addFileRoutes(api: ApiRouter, filesDir: string): void {
  api.add({
    method: 'GET',
    path: '/files/:ref',
    role: 'reader',
    handler: ({ res, params }) => {
      const { path, type } = resolveFileRef(filesDir, params.ref!);
      res
        .writeHead(200, {
          'content-type': type,
          'cache-control': 'private, max-age=3600',
          'x-content-type-options': 'nosniff',
        })
        .end(readFileSync(path));
    },
  });
}
