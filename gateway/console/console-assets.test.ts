/** The console bundle: built into a directory by `npm run build`, or in memory when there is none; served from either. */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ConsoleAssets } from './console-assets.js';
import { buildConsoleUi } from './ui-build.js';

const dir = mkdtempSync(join(tmpdir(), 'cg-console-assets-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function served(assets: ConsoleAssets, name: string) {
  const server = createServer((_req, res) => {
    if (!assets.serve(name, res)) res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    return { status: res.status, type: res.headers.get('content-type'), cache: res.headers.get('cache-control'), body: await res.text() };
  } finally {
    server.close();
  }
}

const assetNames = (html: string) => [...html.matchAll(/(?:src|href)="\.\/(app-[A-Z0-9]+\.(?:js|css))"/g)].map((m) => m[1]!);

describe('console assets', () => {
  it('npm run build writes index.html naming its hashed files, replacing an earlier build', async () => {
    const src = fileURLToPath(new URL('./ui/', import.meta.url));
    await buildConsoleUi(src, dir);
    await buildConsoleUi(src, dir);
    const files = readdirSync(dir).sort();
    expect(files).toHaveLength(3);
    expect(assetNames(readFileSync(join(dir, 'index.html'), 'utf8')).sort()).toEqual(files.filter((f) => f !== 'index.html'));
  });

  it('serves a built directory, and without one bundles in memory the same files', async () => {
    for (const assets of [await ConsoleAssets.load({ bundleDir: dir }), await ConsoleAssets.load({ bundleDir: join(dir, 'none') })]) {
      const index = await served(assets, '');
      expect(index).toMatchObject({ status: 200, type: 'text/html; charset=utf-8', cache: 'no-cache' });
      const js = assetNames(index.body).find((f) => f.endsWith('.js'));
      const css = assetNames(index.body).find((f) => f.endsWith('.css'));
      expect(await served(assets, js!)).toMatchObject({ status: 200, type: 'text/javascript; charset=utf-8', cache: 'public, max-age=31536000, immutable' });
      expect((await served(assets, css!)).type).toBe('text/css; charset=utf-8');
      expect((await served(assets, 'app-MISSING.js')).status).toBe(404);
      expect(index.body).toBe(readFileSync(join(dir, 'index.html'), 'utf8'));
    }
  });
});
