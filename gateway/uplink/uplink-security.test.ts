/**
 * TLS, mutual TLS and credentials against a real mosquitto (certificates made by openssl at
 * test time): a wrong CA and wrong credentials give a clear coded error, retries with backoff
 * (slowly for credentials), and no crash; the right ones connect.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from './testing/fixtures.js';
import { createHarness, ROOT } from './testing/harness.js';
import { makeCerts, recorder, startMosquitto, waitFor } from './testing/mosquitto.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

function harness(dir: string, name: string, uplink: Record<string, unknown>) {
  const h = createHarness({
    dbPath: join(dir, `${name}.db`),
    uplink: { backoff: { initialMs: 50, maxMs: 200, authFailureMs: 300 }, ...uplink } as never,
  });
  cleanups.push(() => h.close());
  h.uplink.start();
  return h;
}

describe('uplink security', () => {
  it('TLS with a wrong CA: clear error, retried with backoff, no crash; mutual TLS with the right CA and client certificate connects', async () => {
    const dir = tempDir('tls');
    const certs = makeCerts(dir);
    const city = await startMosquitto({
      dir,
      tls: {
        caFile: certs.caFile,
        certFile: certs.serverCert,
        keyFile: certs.serverKey,
        requireCertificate: true,
      },
    });
    cleanups.push(() => city.stop('SIGKILL'));

    const bad = harness(dir, 'bad', {
      url: city.url,
      tls: { caFile: certs.wrongCaFile, certFile: certs.clientCert, keyFile: certs.clientKey },
    });
    bad.emit('alarm');
    await waitFor('three TLS failures', () => bad.logs.filter((l) => l.code === 'UPLINK_TLS').length >= 3);
    const errs = bad.logs.filter((l) => l.code === 'UPLINK_TLS');
    expect(errs[0]).toMatchObject({ level: 50, msg: 'uplink connection failed' });
    expect(String(errs[0]!.hint)).toMatch(/caFile/);
    expect(errs.map((l) => l.attempt)).toEqual(errs.map((_, i) => i + 1));
    expect(errs.every((l) => (l.retryInMs as number) > 0)).toBe(true);
    expect(bad.uplink.state).not.toBe('connected');
    expect(bad.uplink.outbox.totalPending()).toBe(1); // kept for later

    // mTLS without a client certificate is refused by the broker too
    const noCert = harness(dir, 'nocert', { url: city.url, tls: { caFile: certs.caFile } });
    await waitFor('refused without a client certificate', () =>
      noCert.logs.some((l) => typeof l.code === 'string' && l.level >= 40 && l.code !== 'UPLINK_AUTH'),
    );
    expect(noCert.uplink.state).not.toBe('connected');

    const good = harness(dir, 'good', {
      url: city.url,
      tls: { caFile: certs.caFile, certFile: certs.clientCert, keyFile: certs.clientKey },
    });
    const env = good.emit('alarm');
    await waitFor('connected over mutual TLS', () => good.uplink.state === 'connected');
    await waitFor('alarm delivered', () => good.uplink.outbox.totalPending() === 0);
    expect(good.logs.some((l) => l.msg === 'uplink connected to the city broker' && l.protocol === '5')).toBe(
      true,
    );
    expect(env.id).toBeTruthy();
  });

  it('wrong credentials: clear error, retried slowly, no crash; the right password (from a file) connects', async () => {
    const dir = tempDir('auth');
    const city = await startMosquitto({
      dir,
      users: { gateway: 'right-password', platform: 'platform-password' },
      acl: `user gateway\ntopic readwrite ${ROOT}/#\nuser platform\ntopic read ${ROOT}/#\n`,
    });
    cleanups.push(() => city.stop('SIGKILL'));

    const bad = harness(dir, 'bad', { url: city.url, username: 'gateway', password: 'wrong-password' });
    await waitFor('two refusals', () => bad.logs.filter((l) => l.code === 'UPLINK_AUTH').length >= 2);
    const errs = bad.logs.filter((l) => l.code === 'UPLINK_AUTH');
    expect(errs[0]).toMatchObject({ level: 50, msg: 'uplink connection failed' });
    expect(String(errs[0]!.err)).toMatch(/CONNACK code 13[45]/); // MQTT 5 0x86 bad user name or password / 0x87 not authorised (mosquitto 2.0)
    expect(String(errs[0]!.hint)).toMatch(/password/);
    // retried slowly: the auth delay (300 ms ± 20 %), not the short network backoff (<= 200 ms)
    expect(errs.every((l) => (l.retryInMs as number) >= 240)).toBe(true);
    expect(JSON.stringify(bad.logs)).not.toContain('wrong-password');

    const pw = join(dir, 'uplink-password');
    writeFileSync(pw, 'right-password\n');
    const rec = await recorder(city.url, `${ROOT}/#`, {
      username: 'platform',
      password: 'platform-password',
    });
    cleanups.push(() => rec.close());
    const good = harness(dir, 'good', { url: city.url, username: 'gateway', passwordFile: pw });
    const env = good.emit('event');
    await waitFor('event delivered', () => rec.messages.some((m) => m.json.id === env.id));
    expect(rec.messages.find((m) => m.topic === `${ROOT}/status`)?.json).toMatchObject({ status: 'online' });
  });
});
