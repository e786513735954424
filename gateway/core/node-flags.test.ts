/**
 * The gateway's V8 heap limit and malloc arena limit are on every launcher's command line (the
 * systemd unit and the installed `gateway` wrapper are checked by the install test), and a process
 * started with the flags runs with that heap limit.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../scripts/structure.js';
import { GATEWAY_ENV, GATEWAY_NODE_FLAGS } from './node-flags.js';

describe('gateway node flags', () => {
  it('are passed by the npm scripts that start a gateway', () => {
    const scripts = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).scripts as Record<string, string>;
    const flags = GATEWAY_NODE_FLAGS.join(' ');
    // Shell assignments before the command: its environment.
    const env = Object.entries(GATEWAY_ENV)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    expect(scripts.demo).toContain(`${env} node ${flags} dist/gateway/cli.js demo`);
    expect(scripts.gateway).toContain(`${env} node ${flags} --import tsx gateway/cli.ts`);
  });

  it('give the process a 512 MB old space', () => {
    const limit = execFileSync(process.execPath, [...GATEWAY_NODE_FLAGS, '-p', 'require("v8").getHeapStatistics().heap_size_limit'], {
      encoding: 'utf8',
    });
    // V8's heap limit: the old space plus the young generation (three 16 MB semi-spaces on 64-bit).
    expect(Number(limit) / 2 ** 20).toBe(512 + 3 * 16);
  });
});
