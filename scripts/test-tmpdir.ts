/**
 * The test run's temporary folder. Tests make their journals, site files and sockets in the
 * system's temporary folder (`os.tmpdir()`), and many do not remove them: a run left about 250 MB
 * behind. Every test, and every process a test starts, inherits TMPDIR pointing into one folder
 * for the run, which is removed when the run ends.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'cg-test-run-'));
  const before = process.env.TMPDIR;
  process.env.TMPDIR = dir;
  return () => {
    if (before === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = before;
    rmSync(dir, { recursive: true, force: true });
  };
}
