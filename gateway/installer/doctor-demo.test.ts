/**
 * `gateway doctor` (the real CLI) against the demo compound: config/examples/demo-compound.yaml
 * with every port moved to a free one (as the demo test does) and its compound simulator running:
 * gas detectors, the DI/DO module, the e-bike piles and the streetlights over Modbus TCP, the
 * LoRaWAN network server and the bin stations publishing into the local broker, the access
 * terminals (ISAPI), the charge point (OCPP 1.6J) and the ONVIF camera. Every check is OK, except
 * what this machine cannot tell, each a WARN with its reason.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../../config/load.js';
import { REPO_ROOT } from '../../scripts/structure.js';
import { type CompoundSimulator, startCompoundSimulator } from '../../simulators/compound/compound-simulator.js';
import { createLogger } from '../core/logger.js';
import { freePort } from '../core/free-port.js';
import { tempDir, writeSiteConfig } from '../e2e/testing/harness.js';

const run = promisify(execFile);
const CLI = join(REPO_ROOT, 'gateway/cli.ts');
const TSX = join(REPO_ROOT, 'node_modules/.bin/tsx');

/** The WARNs this machine gives whatever the site: a container without systemd cannot tell the clock's NTP state. */
function machineWarns(): RegExp[] {
  const warns: RegExp[] = [];
  let systemd = false;
  try {
    systemd = readFileSync('/proc/1/comm', 'utf8').trim() === 'systemd';
  } catch {
    // no /proc: not systemd either
  }
  if (!systemd) warns.push(/^WARN +clock +NTP +unknown \(timedatectl cannot tell here\)$/);
  return warns;
}

let siteFile: string;
let sim: CompoundSimulator;

beforeAll(async () => {
  const site = parse(readFileSync(join(REPO_ROOT, 'config/examples/demo-compound.yaml'), 'utf8'));
  const dir = tempDir('cg-doctor-demo-');
  site.journal.path = join(dir, 'demo.db');
  site.http.port = await freePort();
  for (const l of site.broker.listeners) l.port = await freePort();
  for (const d of site.drivers) {
    if (d.transport) d.transport.port = await freePort();
    if (d.listen) d.listen.port = await freePort();
    for (const dev of d.devices ?? []) {
      if (dev.url) dev.url = `http://127.0.0.1:${await freePort()}`;
      if (d.family === 'onvif-camera') dev.port = await freePort();
    }
  }
  siteFile = writeSiteConfig(dir, site);
  sim = await startCompoundSimulator(loadConfig(siteFile), createLogger('silent'), { controlPort: 0 });
}, 60_000);

afterAll(async () => {
  await sim?.close();
});

async function doctor(file: string, wait: string): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run(TSX, [CLI, 'doctor', '--config', file, '--wait', wait], { cwd: REPO_ROOT });
    return { code: 0, out: stdout + stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout + e.stderr };
  }
}

describe('gateway doctor against the demo compound', () => {
  it('every check OK: ports, disk, every device of every family; WARN only for what this machine cannot tell', async () => {
    const { code, out } = await doctor(siteFile, '30s');
    const rows = out.split('\n').filter((l) => /^(OK|WARN|FAIL) /.test(l));
    const why = `doctor printed:\n${out}`;
    expect(rows.filter((r) => r.startsWith('FAIL')), why).toEqual([]);
    expect(code, why).toBe(0);
    const warns = rows.filter((r) => r.startsWith('WARN'));
    const expected = machineWarns();
    expect(warns.length, why).toBe(expected.length);
    for (const w of expected) expect(warns.some((r) => w.test(r)), why).toBe(true);

    // Every listener of the site is free (the gateway is stopped), and the disk holds the budgets.
    const cfg = loadConfig(siteFile);
    for (const l of cfg.broker.listeners) expect(out, why).toMatch(new RegExp(`^OK +port +127\\.0\\.0\\.1:${l.port} local broker \\(${l.type}\\) +free$`, 'm'));
    expect(out, why).toMatch(/^OK +disk /m);
    // Every device of every family has its row, OK.
    const families = new Set<string>();
    for (const d of cfg.drivers) {
      for (const dev of d.devices) {
        expect(out, why).toMatch(new RegExp(`^OK +device +${dev.id} \\(${d.family}, driver ${d.id}\\) `, 'm'));
        families.add(d.family);
      }
    }
    expect([...families].sort()).toEqual(
      ['access-gate', 'alarm-button', 'ebike-pile', 'ev-charger', 'gas-detector', 'io-module', 'onvif-camera', 'smart-bin', 'smoke-detector', 'streetlight'],
    );
    // The LoRaWAN devices reach the gateway through the local broker, as the network server's account.
    for (const id of ['smoke-b1-hall', 'sos-b2-lift']) {
      expect(out, why).toMatch(new RegExp(`^OK +device +${id} .*(online: heard from it|reachable: account chirpstack logged in to the local broker)`, 'm'));
    }
    expect(out, why).toMatch(new RegExp(`^${rows.length - warns.length} OK, ${warns.length} WARN, 0 FAIL$`, 'm'));
  }, 180_000);

  it('LoRaWAN devices silent for the whole wait: OK, reachable through the network server\'s account on the local broker', async () => {
    const lora = ['smoke-b1-hall', 'smoke-b1-stairs', 'smoke-b2-hall', 'sos-b2-lift'];
    for (const id of lora) {
      const res = await fetch(`${sim.url}/devices/${id}`, { method: 'POST', body: '{"silent": true}' });
      expect(res.status, await res.text()).toBe(200);
    }
    const { code, out } = await doctor(siteFile, '8s');
    const why = `doctor printed:\n${out}`;
    expect(out, why).not.toMatch(/^FAIL/m);
    expect(code, why).toBe(0);
    expect(out.split('\n').filter((r) => r.startsWith('WARN')).length, why).toBe(machineWarns().length);
    for (const id of lora) {
      expect(out, why).toMatch(
        new RegExp(`^OK +device +${id} .* reachable: account chirpstack logged in to the local broker; not heard within 8 s, it reports every 60 s$`, 'm'),
      );
    }
  }, 180_000);
});
