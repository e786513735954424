/** A push device not heard within the doctor's wait: OK when its path to the gateway was seen up, else WARN with why. */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { loadConfig } from '../../config/load.js';
import { tempDir, writeSiteConfig } from '../e2e/testing/harness.js';
import { notHeard, type PathsSeen } from './doctor-reach.js';

const HASH = 'scrypt$16384$8$1$wNmFykc5VvmeQUxL4sA96g==$fJ1W1nxlUzUFX+/S5J2YDOuWSTr3ysqIhoba2MphuQc=';
const dir = tempDir('cg-doctor-reach-');
const cfg = loadConfig(writeSiteConfig(dir, {
  site: { id: 's' },
  gateway: { id: 'gw' },
  journal: { path: join(dir, 'gw.db') },
  broker: {
    listeners: [{ type: 'tcp', host: '127.0.0.1', port: 1883 }],
    accounts: [
      { username: 'chirpstack', role: 'device', publish: ['application/#'], passwordHash: HASH },
      { username: 'bin-room', role: 'device', passwordHash: HASH },
    ],
  },
  drivers: [
    {
      family: 'smoke-detector',
      id: 'lora-local',
      account: 'chirpstack',
      applicationId: '5b0d6a3e-1f7c-4c2a-9a51-0d6f3c2b7e11',
      devices: [{ id: 'smoke-1', devEui: '70b3d57ed0001001', heartbeatIntervalS: 300 }],
    },
    {
      family: 'smoke-detector',
      id: 'lora-ns',
      mqtt: { url: 'mqtt://user@10.0.0.5:1883' },
      applicationId: '5b0d6a3e-1f7c-4c2a-9a51-0d6f3c2b7e11',
      devices: [{ id: 'smoke-2', devEui: '70b3d57ed0001002' }],
    },
    { family: 'smart-bin', id: 'bins', devices: [{ id: 'bin-1', account: 'bin-room' }] },
  ],
}));
const [local, ns, bins] = cfg.drivers as [(typeof cfg.drivers)[number], (typeof cfg.drivers)[number], (typeof cfg.drivers)[number]];
const seen = (o: Partial<PathsSeen>): PathsSeen => ({ driverState: new Map(), loggedIn: new Set(), ...o });
const verdict = (d: typeof local, o: Partial<PathsSeen>) => notHeard(cfg, d, d.devices[0]!, 15, seen(o), 'somewhere');

describe('doctor: a push device not heard within the wait', () => {
  it('through the local broker: OK once its account logged in, WARN naming the account otherwise', () => {
    const up = verdict(local, { loggedIn: new Set(['chirpstack']) });
    expect(up.status).toBe('OK');
    expect(up.detail.en).toBe('reachable: account chirpstack logged in to the local broker; not heard within 15 s, it reports every 300 s');
    const other = verdict(local, { loggedIn: new Set(['bin-room']) });
    expect(other.status).toBe('WARN');
    expect(other.detail.en).toBe('not heard within 15 s; account chirpstack did not log in to the local broker');
    expect(other.fix?.en).toMatch(/longer --wait/);
    expect(verdict(bins, { loggedIn: new Set(['bin-room']) }).status).toBe('OK');
  });

  it('the local broker could not start (its port taken): WARN with the reason', () => {
    const r = verdict(bins, { brokerError: 'listen EADDRINUSE: address already in use 127.0.0.1:1883' });
    expect(r.status).toBe('WARN');
    expect(r.detail.en).toMatch(/the local broker could not start for the check \(listen EADDRINUSE/);
  });

  it("through a network server's broker: OK while the driver is subscribed there, WARN with the driver's error otherwise", () => {
    const up = verdict(ns, { driverState: new Map([['lora-ns', { state: 'running' }]]) });
    expect(up.status).toBe('OK');
    expect(up.detail.en).toBe("reachable: subscribed at the network server's broker mqtt://10.0.0.5:1883; not heard within 15 s, it reports on its own schedule");
    const down = verdict(ns, { driverState: new Map([['lora-ns', { state: 'backoff', lastError: 'connect ECONNREFUSED' }]]) });
    expect(down.status).toBe('WARN');
    expect(down.detail.en).toBe('not heard within 15 s; driver lora-ns not subscribed at mqtt://10.0.0.5:1883 (connect ECONNREFUSED)');
    // an account logged in on the local broker does not stand for a device behind another broker
    expect(verdict(ns, { loggedIn: new Set(['chirpstack', 'smoke-2']) }).status).toBe('WARN');
  });
});
