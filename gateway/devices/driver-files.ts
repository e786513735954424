/**
 * Files of the driver instances (gate pictures, camera snapshots): one folder per driver and
 * day under the gateway's data folder, one size budget for all of them. Saving past the budget
 * deletes the oldest files first, so a flood of pictures costs disk space, never the journal's.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import type { DriverFiles } from './driver-api.js';

export interface FileStoreOptions {
  /** Folder holding every driver's files. */
  dir: string;
  /** Total size budget in bytes. */
  budgetBytes: number;
  now?: () => number;
}

interface Entry {
  path: string;
  size: number;
  mtime: number;
}

export class FileStore {
  private entries?: Entry[];
  private total = 0;

  constructor(private readonly o: FileStoreOptions) {}

  /** The store of one driver instance. */
  forDriver(driver: string): DriverFiles {
    return { save: (data, ext) => this.save(driver, data, ext) };
  }

  private save(driver: string, data: Buffer, ext: string): string {
    if (!/^[a-z0-9]{1,8}$/.test(ext)) throw new TypeError(`file extension "${ext}": 1 to 8 lower-case letters or digits`);
    if (data.length > this.o.budgetBytes) throw new RangeError(`a file of ${data.length} bytes is larger than the whole file budget`);
    const entries = this.list(); // before writing: the new file is added once, below
    const now = this.o.now?.() ?? Date.now();
    const day = new Date(now).toISOString().slice(0, 10);
    const dir = join(this.o.dir, driver, day);
    mkdirSync(dir, { recursive: true });
    const path = join(dir, `${randomUUID()}.${ext}`);
    writeFileSync(path, data);
    entries.push({ path, size: data.length, mtime: statSync(path).mtimeMs });
    this.total += data.length;
    while (this.total > this.o.budgetBytes && entries.length > 1) {
      const oldest = entries.shift()!;
      rmSync(oldest.path, { force: true });
      this.total -= oldest.size;
    }
    return relative(this.o.dir, path).split(sep).join('/');
  }

  /** Every stored file, oldest first (read from disk once, then kept up to date). */
  private list(): Entry[] {
    if (this.entries) return this.entries;
    const found: Entry[] = [];
    const walk = (dir: string) => {
      let names: string[];
      try {
        names = readdirSync(dir);
      } catch {
        return;
      }
      for (const name of names) {
        const p = join(dir, name);
        const st = statSync(p);
        if (st.isDirectory()) walk(p);
        else found.push({ path: p, size: st.size, mtime: st.mtimeMs });
      }
    };
    walk(this.o.dir);
    found.sort((a, b) => a.mtime - b.mtime);
    this.total = found.reduce((n, e) => n + e.size, 0);
    this.entries = found;
    return found;
  }
}
