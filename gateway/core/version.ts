import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Finds the package root (works from the sources and from dist/) and reads the version once. */
function findPackage(): { root: string; version: string } {
  for (const rel of ['../../package.json', '../../../package.json']) {
    const file = fileURLToPath(new URL(rel, import.meta.url));
    try {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'compound-gateway' && pkg.version)
        return { root: dirname(file), version: pkg.version };
    } catch {
      // try the next location
    }
  }
  throw new Error('package.json of compound-gateway not found next to the gateway sources');
}

const pkg = findPackage();
export const VERSION = pkg.version;
/** Absolute path of the installed package (where config/examples lives). */
export const PACKAGE_ROOT = pkg.root;
