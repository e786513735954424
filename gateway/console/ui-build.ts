/**
 * Builds the console's browser bundle with esbuild: `app-[hash].js` and `app-[hash].css` (content
 * hashes, so browsers may cache them for ever) and an `index.html` naming them.
 *
 * `npm run build` runs this file (`node dist/gateway/console/ui-build.js <outDir>`, from the
 * package root) and writes the files into `dist/console/`; a gateway running from source bundles
 * in memory at start instead (see console-assets.ts). Both go through `bundleConsoleUi`.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/** File name -> content: index.html, app-[hash].js, app-[hash].css. */
export type ConsoleBundle = Map<string, Buffer>;

export async function bundleConsoleUi(srcDir: string): Promise<ConsoleBundle> {
  const r = await build({
    entryPoints: [
      { in: join(srcDir, 'main.ts'), out: 'app' },
      { in: join(srcDir, 'style.css'), out: 'app' },
    ],
    outdir: '/console-bundle',
    entryNames: '[name]-[hash]',
    write: false,
    bundle: true,
    format: 'esm',
    target: ['chrome100', 'firefox100', 'safari15'],
    minify: true,
    logLevel: 'silent',
    jsx: 'automatic',
    jsxImportSource: 'preact',
  });
  const files: ConsoleBundle = new Map(r.outputFiles.map((f) => [basename(f.path), Buffer.from(f.contents)]));
  const js = [...files.keys()].find((f) => f.endsWith('.js'));
  const css = [...files.keys()].find((f) => f.endsWith('.css'));
  if (!js || !css) throw new Error(`console build produced ${[...files.keys()].join(', ')}: expected app-*.js and app-*.css`);
  files.set('index.html', Buffer.from(indexHtml(js, css)));
  return files;
}

/** Bundles into `outDir`, replacing the bundle of an earlier build there. */
export async function buildConsoleUi(srcDir: string, outDir: string): Promise<string[]> {
  const files = await bundleConsoleUi(srcDir);
  mkdirSync(outDir, { recursive: true });
  for (const f of readdirSync(outDir)) if (/^app-\w+\.(js|css)$/.test(f)) rmSync(join(outDir, f));
  for (const [name, body] of files) writeFileSync(join(outDir, name), body);
  return [...files.keys()];
}

function indexHtml(js: string, css: string): string {
  return `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>物业值班台</title>
<link rel="stylesheet" href="./${css}">
</head><body><div id="app"></div>
<script type="module" src="./${js}"></script>
</body></html>
`;
}

// `node dist/gateway/console/ui-build.js [outDir]` from the package root (npm run build).
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = resolve(process.argv[2] ?? 'dist/console');
  buildConsoleUi(resolve('gateway/console/ui'), out).then(
    (names) => console.log(`console UI: ${out}/{${names.join(',')}}`),
    (err: unknown) => {
      console.error(`console UI build failed: ${String(err)}`);
      process.exit(1);
    },
  );
}
