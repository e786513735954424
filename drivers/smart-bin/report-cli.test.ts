import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startHost } from '../../gateway/devices/testing/host-harness.js';
import { startDeviceBroker } from '../../gateway/devices/testing/device-broker.js';
import { waitFor } from '../../gateway/testing/wait-for.js';
import { BinStationSimulator } from '../../simulators/smart-bin/station-sim.js';
import { smartBin } from './index.js';
import { ACCOUNTS, type Account, binConfig } from './testing/bin-kit.js';

const dir = mkdtempSync(join(tmpdir(), 'bins-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const site = (dbPath: string) => `
site: { id: test-site }
gateway: { id: gw-01 }
journal: { path: ${JSON.stringify(dbPath)} }
drivers:
  - family: smart-bin
    id: bins
    devices:
      - { id: bin-a-1, account: room-a, building: A }
      - { id: bin-a-2, account: room-a, building: A }
      - { id: bin-b1, building: B }
`;

function gateway(...args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'gateway/cli.ts', ...args], { encoding: 'utf8' });
}

// Each case starts the gateway command (tsx) two or three times: allow for a loaded machine.
describe('gateway bins report', { timeout: 60_000 }, () => {
  it('prints the drops stored in the gateway database, per building and per household', async () => {
    const dbPath = join(dir, 'gateway.db');
    const h = startHost({ families: [smartBin], drivers: [binConfig()], dbPath });
    cleanup.push(h.close);
    const broker = await startDeviceBroker({ devices: ACCOUNTS, onDevicePublish: h.host.onDevicePublish });
    cleanup.push(broker.close);
    await waitFor('driver running', () => h.host.status()[0]?.state === 'running');
    const sim = await BinStationSimulator.start({
      url: broker.url,
      stations: [
        { id: 'bin-a-1', account: 'room-a', building: 'A', households: ['A-101', 'A-102'] },
        { id: 'bin-b1', account: 'bin-b1', building: 'B', households: ['B-101'] },
      ],
      password: (a) => ACCOUNTS[a as Account],
    });
    cleanup.push(() => sim.close());
    const day = await sim.publishDay(new Date(Date.now() - 86_400_000), 2);
    const file = join(dir, 'site.yaml');
    writeFileSync(file, site(dbPath));

    // The gateway is still running: the report reads the database beside it.
    const out = gateway('bins', 'report', '--config', file, '--by', 'building', '--lang', 'en');
    expect(out.stderr).toBe('');
    expect(out.status).toBe(0);
    const rows = out.stdout.split('\n').filter((l) => /^[AB] /.test(l)).map((l) => l.trim().split(/\s+/).slice(0, 3));
    expect(rows).toEqual([
      ['A', '2', String(day.filter((d) => d.station === 'bin-a-1').length)],
      ['B', '1', String(day.filter((d) => d.station === 'bin-b1').length)],
    ]);

    const zh = gateway('bins', 'report', `--config=${file}`, '--household', 'B-101', '--since', '7d');
    expect(zh.status).toBe(0);
    expect(zh.stdout).toContain('住户 B-101 垃圾分类投放（近 7 天）');
    const grams = day.filter((d) => d.householdId === 'B-101').reduce((n, d) => n + d.weightG, 0);
    expect(zh.stdout.split('\n').find((l) => l.startsWith('合计'))!.trim().split(/\s+/).slice(1, 3)).toEqual(['2', (grams / 1000).toFixed(1)]);

    const bad = gateway('bins', 'report', '--config', file, '--by', 'floor');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--by takes "building", got "floor"/);
  });

  it('a site whose gateway never ran has no database: says so, exit 1', () => {
    const file = join(dir, 'fresh.yaml');
    writeFileSync(file, site(join(dir, 'never-ran.db')));
    const out = gateway('bins', 'report', '--config', file, '--by', 'building');
    expect(out.status).toBe(1);
    expect(out.stderr).toMatch(/JOURNAL_OPEN.*never-ran\.db/);
    expect(out.stderr).toMatch(/the gateway creates the database when it first runs/);
  });
});
