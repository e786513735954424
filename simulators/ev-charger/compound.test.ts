import { randomBytes, scryptSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { evCharger } from '../../drivers/ev-charger/index.js';
import { freePort } from '../../gateway/core/free-port.js';
import { createLogger } from '../../gateway/core/logger.js';
import type { DriverConfig } from '../../gateway/devices/driver-api.js';
import { startHost } from '../../gateway/devices/testing/host-harness.js';
import { waitFor } from '../../gateway/testing/wait-for.js';
import { makeCerts } from '../../gateway/uplink/testing/mosquitto.js';
import { DEFAULT_SIM_PASSWORD, simulator } from './compound.js';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const salt = randomBytes(16);
const passwordHash = ['scrypt', 1024, 8, 1, salt.toString('base64'), scryptSync(DEFAULT_SIM_PASSWORD, salt, 32, { N: 1024 }).toString('base64')].join('$');

describe('ev-charger compound simulator', () => {
  it('piles started before the gateway connect with backoff, boot, and act on control changes', async () => {
    const port = await freePort();
    const config = evCharger.configSchema.parse({
      id: 'piles',
      family: 'ev-charger',
      listen: { host: '127.0.0.1', port },
      devices: [{ id: 'pile-1', passwordHash, connectors: 2 }],
    }) as DriverConfig;
    const sim = (await simulator.start(config, createLogger('silent')))!;
    cleanup.push(() => sim.close());
    const h = startHost({ families: [evCharger], drivers: [config] });
    cleanup.push(h.close);
    await waitFor('both connectors reported Available', () => h.eventsOf('pile-1', 'ev.status').length === 2, { timeoutMs: 15_000 });
    const pile = sim.devices[0]!;
    expect(pile.state()).toMatchObject({ connected: true });

    await pile.apply({ start: 'CARD-1', connector: 2 });
    expect(h.eventsOf('pile-1', 'ev.transaction.started').map((e) => e.data)).toMatchObject([{ connectorId: 2, idTag: 'CARD-1' }]);
    await pile.apply({ connector: 2, trip: true });
    expect(h.eventsOf('pile-1', 'ev.fault').map((e) => e.data)).toMatchObject([{ connectorId: 2, errorCode: 'OverCurrentFailure' }]);
    expect(h.eventsOf('pile-1', 'ev.transaction.stopped').map((e) => e.data)).toMatchObject([{ connectorId: 2, reason: 'Other' }]);
    // A tripped connector refuses a remote start until it is repaired.
    expect(await h.execute('pile-1', 'remote-start', { idTag: 'CARD-1', connectorId: 2 })).toMatchObject({ ok: false, error: expect.stringContaining('Rejected') });
    await pile.apply({ connector: 2, repaired: true });
    expect(await h.execute('pile-1', 'remote-start', { idTag: 'CARD-1', connectorId: 2 })).toMatchObject({ ok: true });

    await pile.apply({ offline: true });
    await waitFor('pile offline', () => h.online('pile-1') === false);
    await expect(pile.apply({ stopp: true })).rejects.toThrow();
    await expect(pile.apply({ connector: 3, stop: true })).rejects.toThrow(/connector 3 does not exist/);
  });

  it('with listen.tls the piles connect over wss, trusting listen.tls.caFile', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ev-sim-tls-'));
    cleanup.push(async () => rmSync(dir, { recursive: true, force: true }));
    const certs = makeCerts(dir);
    const config = evCharger.configSchema.parse({
      id: 'piles',
      family: 'ev-charger',
      listen: { host: '127.0.0.1', port: await freePort(), tls: { certFile: certs.serverCert, keyFile: certs.serverKey, caFile: certs.caFile } },
      devices: [{ id: 'pile-1', passwordHash }],
    }) as DriverConfig;
    const h = startHost({ families: [evCharger], drivers: [config] });
    cleanup.push(h.close);
    const sim = (await simulator.start(config, createLogger('silent')))!;
    cleanup.push(() => sim.close());
    await waitFor('the pile booted over wss', () => h.eventsOf('pile-1', 'ev.status').length === 1, { timeoutMs: 15_000 });
    await sim.devices[0]!.apply({ start: 'CARD-1' });
    expect(h.eventsOf('pile-1', 'ev.transaction.started').map((e) => e.data)).toMatchObject([{ connectorId: 1, idTag: 'CARD-1' }]);
  });
});
