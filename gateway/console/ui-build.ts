/**
 * Builds the console's browser bundle with esbuild: `app-[hash].js` and `app-[hash].css` (content
 * hashes, so browsers may cache them for ever) and an `index.html` naming them.
 *
 * `npm run build` runs this file (`node dist/gateway/console/ui-build.js <outDir>`, from the
 * package root) into `dist/console/`; a gateway running from source builds into a temporary
 * directory at start instead (see console-assets.ts). Both go through `buildConsoleUi`.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export interface ConsoleBundle {
  dir: string;
  js: string;
  css: string;
}

export async function buildConsoleUi(srcDir: string, outDir: string): Promise<ConsoleBundle> {
  mkdirSync(outDir, { recursive: true });
  // Bundles of earlier builds go: the directory holds exactly what index.html names.
  for (const f of readdirSync(outDir)) if (/^app-\w+\.(js|css)$/.test(f)) rmSync(join(outDir, f));
  const r = await build({
    entryPoints: [
      { in: join(srcDir, 'main.ts'), out: 'app' },
      { in: join(srcDir, 'style.css'), out: 'app' },
    ],
    outdir: outDir,
    entryNames: '[name]-[hash]',
    bundle: true,
    format: 'esm',
    target: ['chrome100', 'firefox100', 'safari15'],
    minify: true,
    sourcemap: false,
    metafile: true,
    logLevel: 'silent',
    jsx: 'automatic',
    jsxImportSource: 'preact',
  });
  const outputs = Object.keys(r.metafile.outputs).map((p) => basename(p));
  const js = outputs.find((f) => f.endsWith('.js'));
  const css = outputs.find((f) => f.endsWith('.css'));
  if (!js || !css) throw new Error(`console build produced ${outputs.join(', ')}: expected app-*.js and app-*.css`);
  writeFileSync(join(outDir, 'index.html'), indexHtml(js, css));
  return { dir: outDir, js, css };
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
    (b) => console.log(`console UI: ${b.dir}/{index.html,${b.js},${b.css}}`),
    (err: unknown) => {
      console.error(`console UI build failed: ${String(err)}`);
      process.exit(1);
    },
  );
}
