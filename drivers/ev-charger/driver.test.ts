import { randomBytes, scryptSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RPCClient } from 'ocpp-rpc';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { freePort } from '../../gateway/core/free-port.js';
import type { DriverConfig, ListenTls } from '../../gateway/devices/driver-api.js';
import { type HostHarness, startHost } from '../../gateway/devices/testing/host-harness.js';
import { ManualClock } from '../../gateway/devices/testing/manual-clock.js';
import { waitFor } from '../../gateway/testing/wait-for.js';
import { makeCerts } from '../../gateway/uplink/testing/mosquitto.js';
import { ChargePoint } from '../../simulators/ev-charger/charge-point.js';
import { evCharger } from './index.js';
import { invalidMessages, record } from './testing/ocpp-schemas.js';

const PASSWORDS = { 'cp-1': 'cp-1-secret-0123456789', 'cp-2': 'cp-2-secret-0123456789' } as const;
/** The gateway's hash form, at a low cost to keep the test fast. */
const hash = (plain: string) => {
  const salt = randomBytes(16);
  return ['scrypt', 1024, 8, 1, salt.toString('base64'), scryptSync(plain, salt, 32, { N: 1024 }).toString('base64')].join('$');
};
const HASHES = Object.fromEntries(Object.entries(PASSWORDS).map(([id, p]) => [id, hash(p)]));

const dir = mkdtempSync(join(tmpdir(), 'ev-charger-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function boot(o: { port?: number; dbPath?: string; clock?: ManualClock; heartbeatIntervalS?: number; tls?: ListenTls } = {}) {
  const port = o.port ?? (await freePort());
  const config = evCharger.configSchema.parse({
    id: 'piles',
    family: 'ev-charger',
    listen: { host: '127.0.0.1', port, ...(o.tls ? { tls: o.tls } : {}) },
    idTags: ['CARD-1', 'CARD-2'],
    ...(o.heartbeatIntervalS ? { heartbeatIntervalS: o.heartbeatIntervalS } : {}),
    devices: [
      { id: 'cp-1', passwordHash: HASHES['cp-1'], connectors: 2, building: 'B3', zone: 'P1' },
      { id: 'cp-2', passwordHash: HASHES['cp-2'] },
    ],
  }) as DriverConfig;
  const h = startHost({ families: [evCharger], drivers: [config], ...(o.dbPath ? { dbPath: o.dbPath } : {}), ...(o.clock ? { clock: o.clock } : {}) });
  cleanup.push(h.close);
  await waitFor('driver running', () => h.host.status()[0]?.state === 'running');
  return { h, port, endpoint: `${o.tls ? 'wss' : 'ws'}://127.0.0.1:${port}/ocpp` };
}

function chargePoint(endpoint: string, identity: keyof typeof PASSWORDS = 'cp-1', strict = true, ca?: Buffer) {
  const cp = new ChargePoint({ endpoint, identity, password: PASSWORDS[identity], connectors: 2, strict, ...(ca ? { ca } : {}) });
  cleanup.push(() => cp.close());
  return cp;
}

const data = (h: HostHarness, type: string, id = 'cp-1') => h.eventsOf(id, type).map((e) => e.data);

async function refused(h: HostHarness, reason: string): Promise<number> {
  const m = await h.metrics.driverRefused.get();
  return m.values.find((v) => v.labels.reason === reason && v.labels.driver === 'piles')?.value ?? 0;
}

describe('ev-charger: the gateway as OCPP 1.6J central system', () => {
  it('serves a charge point end to end; every message of both sides is valid against the OCPP 1.6 schemas', async () => {
    const { h, endpoint } = await boot();
    const cp = chargePoint(endpoint);
    const messages = record(cp.client);
    await cp.connect();
    expect(await cp.boot()).toMatchObject({ status: 'Accepted', interval: 60 });
    expect(await cp.heartbeat()).toHaveProperty('currentTime');
    await cp.status(1, 'Available');
    expect(data(h, 'ev.status')).toEqual([{ connectorId: 1, status: 'Available', errorCode: 'NoError' }]);
    expect(await cp.authorize('CARD-1')).toEqual({ idTagInfo: { status: 'Accepted' } });
    expect(await cp.authorize('STRANGER')).toEqual({ idTagInfo: { status: 'Invalid' } });

    const tx = await cp.startTransaction(1, 'CARD-1');
    expect(data(h, 'ev.transaction.started')).toEqual([{ transactionId: tx, connectorId: 1, idTag: 'CARD-1', meterStartWh: 1000 }]);
    await cp.charge(1, 7000, 3600);
    expect(data(h, 'ev.meter')).toEqual([{ connectorId: 1, transactionId: tx, energyWh: 8000, powerW: 7000, currentA: 30.4 }]);
    await cp.stopTransaction(1);
    expect(data(h, 'ev.transaction.stopped')).toEqual([{ transactionId: tx, connectorId: 1, idTag: 'CARD-1', energyWh: 7000, reason: 'Local' }]);
    // The same StopTransaction again (the charge point missed the answer): acknowledged, reported once.
    expect(await cp.call('StopTransaction', { transactionId: tx, meterStop: 8000, timestamp: new Date().toISOString() })).toEqual({});
    expect(data(h, 'ev.transaction.stopped')).toHaveLength(1);

    // Remote start: accepted at once, final when the charge point's StartTransaction arrives.
    let accepted: unknown;
    const started = await h.execute('cp-1', 'remote-start', { idTag: 'CARD-2', connectorId: 2 }, { onAccepted: (d) => (accepted = d) });
    expect(accepted).toEqual({ status: 'Accepted' });
    const remoteTx = data(h, 'ev.transaction.started').at(-1)!.transactionId;
    expect(started).toEqual({ ok: true, data: { transactionId: remoteTx } });
    expect(data(h, 'ev.transaction.started').at(-1)).toMatchObject({ connectorId: 2, idTag: 'CARD-2' });
    await waitFor('the charge point has its transaction id', () => cp.connectors.get(2)!.tx);

    expect(await h.execute('cp-1', 'remote-stop', {})).toEqual({ ok: true, data: { transactionIds: [remoteTx] } });
    await waitFor('remote stop reported', () => data(h, 'ev.transaction.stopped').length === 2);
    expect(data(h, 'ev.transaction.stopped')[1]).toMatchObject({ transactionId: remoteTx, reason: 'Remote', energyWh: 0 });

    expect(await h.execute('cp-1', 'change-availability', { type: 'Inoperative' })).toEqual({ ok: true, data: { status: 'Accepted' } });
    await waitFor('connectors unavailable', () => data(h, 'ev.status').filter((d) => d.status === 'Unavailable').length === 2);
    expect(await h.execute('cp-1', 'remote-start', { idTag: 'CARD-1' })).toMatchObject({ ok: false, error: expect.stringContaining('Rejected') });
    expect(await h.execute('cp-1', 'change-availability', { type: 'Operative', connectorId: 1 })).toMatchObject({ ok: true });
    expect(await h.execute('cp-1', 'change-configuration', { key: 'MeterValueSampleInterval', value: '30' })).toMatchObject({ ok: true });
    expect(cp.config.get('MeterValueSampleInterval')).toBe('30');
    expect(await h.execute('cp-1', 'reset', {})).toEqual({ ok: true, data: { status: 'Accepted' } });
    expect(cp.resets).toBe(1);
    expect(await h.execute('cp-2', 'reset', {})).toEqual({ ok: false, error: 'charge point cp-2 is not connected' });

    // Over-current trip: Faulted / OverCurrentFailure is an alarm, then the session stops.
    const tripped = await cp.startTransaction(1, 'CARD-1');
    await cp.charge(1, 11_000, 360);
    await cp.overcurrentTrip(1);
    expect(data(h, 'ev.fault')).toEqual([{ connectorId: 1, errorCode: 'OverCurrentFailure', info: 'over-current protection tripped' }]);
    expect(h.eventsOf('cp-1', 'ev.fault')[0]).toMatchObject({ kind: 'alarm' });
    expect(data(h, 'ev.transaction.stopped').at(-1)).toEqual({ transactionId: tripped, connectorId: 1, idTag: 'CARD-1', energyWh: 1100, reason: 'Other' });

    const actions = new Set(messages.map((m) => `${m.action}.${m.kind}`));
    for (const a of ['BootNotification', 'Heartbeat', 'StatusNotification', 'Authorize', 'StartTransaction', 'StopTransaction', 'MeterValues', 'RemoteStartTransaction', 'RemoteStopTransaction', 'ChangeAvailability', 'ChangeConfiguration', 'Reset'])
      for (const k of ['req', 'conf']) expect(actions).toContain(`${a}.${k}`);
    expect(invalidMessages(messages)).toEqual([]);
    expect(h.invalids).toEqual([]);
  });

  it('refuses an unknown id, a wrong password and a client without ocpp1.6 at the upgrade, counted', async () => {
    const { h, port } = await boot();
    const status = (id: string, password: string, protocols = ['ocpp1.6']) =>
      new Promise<number>((resolve) => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/ocpp/${id}`, protocols, {
          headers: { authorization: `Basic ${Buffer.from(`${id}:${password}`).toString('base64')}` },
        });
        ws.once('unexpected-response', (_req, res) => {
          resolve(res.statusCode ?? 0);
          ws.terminate();
        });
        ws.once('open', () => resolve(101));
        ws.once('error', () => {});
      });
    expect(await status('cp-9', PASSWORDS['cp-1'])).toBe(401);
    expect(await status('cp-1', PASSWORDS['cp-2'])).toBe(401);
    expect(await status('cp-1', PASSWORDS['cp-1'], ['ocpp2.0.1'])).toBe(401);
    expect(await status('cp-1', PASSWORDS['cp-1'])).toBe(101);
    expect(await refused(h, 'unknown-sender')).toBe(1);
    expect(await refused(h, 'auth')).toBe(1);
    expect(await refused(h, 'subprotocol')).toBe(1);
  });

  it('answers a schema-invalid call and out-of-order calls with the OCPP error, and keeps serving', async () => {
    const { h, endpoint } = await boot();
    // A lax client (no strict mode) can send what a faulty charge point would.
    const cp = chargePoint(endpoint, 'cp-2', false);
    await cp.connect();
    const errorOf = (method: string, params: unknown) =>
      cp.client.call(method, params).then(
        () => 'no error',
        (err: { rpcErrorCode?: string }) => err.rpcErrorCode,
      );
    expect(await errorOf('Heartbeat', {})).toBe('SecurityError');
    // The spelling of OCPP-J 1.6 errata v1.0 §5 (the 1.6 text has "Occurence").
    expect(await errorOf('BootNotification', { chargePointVendor: 'X' })).toBe('OccurrenceConstraintViolation');
    expect(await errorOf('BootNotification', { chargePointVendor: 7, chargePointModel: 'M' })).toBe('TypeConstraintViolation');
    expect(await cp.boot()).toMatchObject({ status: 'Accepted' });
    expect(await errorOf('StopTransaction', { transactionId: 4242, meterStop: 1, timestamp: new Date().toISOString() })).toBe(
      'PropertyConstraintViolation',
    );
    expect(await cp.heartbeat()).toHaveProperty('currentTime');
    expect(await refused(h, 'before-boot')).toBe(1);
    expect(await refused(h, 'unknown-transaction')).toBe(1);
    expect(await refused(h, 'shape')).toBe(2);
    expect(data(h, 'ev.transaction.stopped', 'cp-2')).toEqual([]);
  });

  it('answers a resent StartTransaction with the same transactionId, reported once', async () => {
    const { h, endpoint } = await boot();
    const cp = chargePoint(endpoint);
    await cp.connect();
    await cp.boot();
    const start = { connectorId: 1, idTag: 'CARD-1', meterStart: 1000, timestamp: '2026-03-01T08:00:00.000Z' };
    const first = await cp.call('StartTransaction', start);
    // The answer was lost: the charge point sends the same message again.
    expect(await cp.call('StartTransaction', start)).toEqual(first);
    expect(data(h, 'ev.transaction.started')).toEqual([{ transactionId: first.transactionId, connectorId: 1, idTag: 'CARD-1', meterStartWh: 1000 }]);
    // Another session on the same connector (a later timestamp) is a new transaction.
    await cp.call('StopTransaction', { transactionId: first.transactionId, meterStop: 1500, timestamp: '2026-03-01T09:00:00.000Z' });
    const second = await cp.call('StartTransaction', { ...start, meterStart: 1500, timestamp: '2026-03-01T10:00:00.000Z' });
    expect(second.transactionId).not.toBe(first.transactionId);
    expect(data(h, 'ev.transaction.started')).toHaveLength(2);
  });

  it('OCPP 1.6 security profile 2: a charge point trusting the CA boots over wss; ws:// and an untrusting client fail', async () => {
    const certs = makeCerts(mkdtempSync(join(dir, 'tls-')));
    const { h, endpoint, port } = await boot({ tls: { certFile: certs.serverCert, keyFile: certs.serverKey } });
    const cp = chargePoint(endpoint, 'cp-1', true, readFileSync(certs.caFile));
    const messages = record(cp.client);
    await cp.connect();
    expect(await cp.boot()).toMatchObject({ status: 'Accepted' });
    expect(await cp.startTransaction(1, 'CARD-1')).toBe(data(h, 'ev.transaction.started')[0]!.transactionId);
    expect(invalidMessages(messages)).toEqual([]);

    const failure = (c: ChargePoint) => c.connect().then(() => 'connected', (err: NodeJS.ErrnoException) => err.code ?? err.message);
    expect(await failure(chargePoint(`ws://127.0.0.1:${port}/ocpp`, 'cp-2'))).not.toBe('connected');
    expect(await failure(chargePoint(endpoint, 'cp-2'))).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    expect(await failure(chargePoint(endpoint, 'cp-2', true, readFileSync(certs.wrongCaFile)))).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    await waitFor('failed handshakes counted', async () => (await refused(h, 'tls')) === 3);
    expect(h.online('cp-2')).toBeUndefined();
  });

  it('takes a charge point offline after 2.5 of the heartbeat intervals BootNotification gave it', async () => {
    const clock = new ManualClock();
    const { h, endpoint } = await boot({ clock, heartbeatIntervalS: 20 });
    const cp = chargePoint(endpoint);
    await cp.connect();
    expect(await cp.boot()).toMatchObject({ interval: 20 });
    clock.advance(49_000);
    expect(h.online('cp-1')).toBe(true);
    await cp.heartbeat();
    clock.advance(49_000);
    expect(h.online('cp-1')).toBe(true);
    clock.advance(2_000);
    expect(h.online('cp-1')).toBe(false);
  });

  it('closes a transaction started before a gateway restart with meterStop − meterStart', async () => {
    const dbPath = join(dir, 'restart.db');
    const first = await boot({ dbPath });
    const cp = chargePoint(first.endpoint);
    await cp.connect();
    await cp.boot();
    const tx = await cp.startTransaction(2, 'CARD-2');
    await first.h.close();
    cleanup.splice(cleanup.indexOf(first.h.close), 1);

    await cp.charge(2, 7000, 1800).catch(() => {}); // the meter runs on while the gateway is down
    const second = await boot({ dbPath, port: first.port });
    await waitFor('charge point reconnected', () => cp.client.state === RPCClient.OPEN && second.h.online('cp-1'), { timeoutMs: 15_000 });
    await cp.stopTransaction(2, 'EVDisconnected');
    expect(data(second.h, 'ev.transaction.stopped')).toEqual([
      { transactionId: tx, connectorId: 2, idTag: 'CARD-2', energyWh: 3500, reason: 'EVDisconnected' },
    ]);
  });
});
