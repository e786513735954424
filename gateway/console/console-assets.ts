/**
 * The console's static files at `/console/`: the bundle `npm run build` put into `dist/console/`
 * or, when the gateway runs from source (tsx, tests) and there is none, a bundle built once at start
 * in memory. Hashed assets are cached for ever; index.html is revalidated.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleConsoleUi } from './ui-build.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

export class ConsoleAssets {
  private constructor(private readonly files: ReadonlyMap<string, Buffer>) {}

  /** The built bundle next to the compiled gateway (dist/console), else one built now from the sources. */
  static async load(o: { bundleDir?: string } = {}): Promise<ConsoleAssets> {
    const shipped = o.bundleDir ?? fileURLToPath(new URL('../../console/', import.meta.url));
    if (!existsSync(join(shipped, 'index.html'))) {
      return new ConsoleAssets(await bundleConsoleUi(fileURLToPath(new URL('./ui/', import.meta.url))));
    }
    const files = new Map<string, Buffer>();
    for (const name of readdirSync(shipped)) if (TYPES[extname(name)]) files.set(name, readFileSync(join(shipped, name)));
    return new ConsoleAssets(files);
  }

  /** Serves `name` (a file name under /console/, '' for index.html); false when there is no such file. */
  serve(name: string, res: ServerResponse): boolean {
    const file = name === '' ? 'index.html' : name;
    const body = this.files.get(file);
    if (!body) return false;
    res
      .writeHead(200, {
        'content-type': TYPES[extname(file)]!,
        'cache-control': file === 'index.html' ? 'no-cache' : 'public, max-age=31536000, immutable',
        'x-content-type-options': 'nosniff',
        ...(file === 'index.html' ? { 'content-security-policy': CSP } : {}),
      })
      .end(body);
    return true;
  }
}

/** Everything comes from the gateway itself: no CDN, no inline script. */
const CSP = "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'";
