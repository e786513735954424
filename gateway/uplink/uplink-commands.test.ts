/**
 * Platform commands end to end: the real gateway (startGateway) with the gas-detector driver
 * against its Modbus TCP simulator, a real mosquitto as the city broker, and an MQTT 5
 * platform client. Allow-list, audit, expiry, exactly one response.
 */
import { join } from 'node:path';
import { connect } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { validateConfig } from '../../config/load.js';
import { startGasSimulatorTcp } from '../../simulators/gas-detector/index.js';
import { createLogger } from '../core/logger.js';
import { startGateway } from '../gateway.js';
import { readAudit } from './platform-commands.js';
import { tempDir } from './testing/fixtures.js';
import { GATEWAY, ROOT, SITE } from './testing/harness.js';
import { type Received, recorder, startMosquitto, waitFor } from './testing/mosquitto.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

describe('commands from the city platform', () => {
  it('refuses and audits accounts that are not allowed, executes an allowed one on the device simulator with one response, never executes an expired one', async () => {
    const dir = tempDir('cmd');
    const city = await startMosquitto({ dir });
    cleanups.push(() => city.stop('SIGKILL'));
    const sim = await startGasSimulatorTcp({ units: [1, 2, 3] });
    cleanups.push(() => sim.close());

    const parsed = validateConfig({
      site: { id: SITE },
      gateway: { id: GATEWAY },
      broker: { listeners: [{ type: 'tcp', host: '127.0.0.1', port: 0 }] },
      journal: { path: join(dir, 'gw.db'), synchronous: 'NORMAL' },
      http: { host: '127.0.0.1', port: 0 },
      drivers: [
        {
          family: 'gas-detector',
          id: 'gas-line',
          transport: { type: 'tcp', host: '127.0.0.1', port: sim.port },
          pollIntervalMs: 200,
          timeoutMs: 500,
          devices: [
            { id: 'gas-1', unitId: 1 },
            { id: 'gas-2', unitId: 2 },
            { id: 'gas-3', unitId: 3 },
          ],
        },
      ],
      uplink: {
        url: city.url,
        backoff: { initialMs: 50, maxMs: 200 },
        commands: {
          accounts: [{ account: 'city-ops', allow: [{ family: 'gas-detector', commands: ['valve.close'] }] }],
        },
      },
    });
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
    const gw = await startGateway(parsed.config, createLogger('warn'));
    cleanups.push(() => gw.close());
    await waitFor(
      'uplink connected, command subscription granted, driver running',
      () => gw.uplink?.commandsReady === true && gw.drivers.status()[0]?.state === 'running',
    );
    // gas-1's availability acknowledged by the city broker: retained there before the recorder subscribes.
    await waitFor(
      'the availability of gas-1 sent',
      () => gw.journal.query({ device: 'gas-1', type: 'device.availability' }).length > 0 && gw.uplink!.outbox.totalPending() === 0,
    );

    // retained on the city broker: per-device availability (through the outbox) and the birth inventory
    const retained = await recorder(city.url, `${ROOT}/+/gas-1`);
    cleanups.push(() => retained.close());
    await waitFor('retained availability of gas-1', () =>
      retained.messages.some((m) => m.retain && m.topic === `${ROOT}/availability/gas-1`),
    );
    expect(retained.messages.find((m) => m.topic === `${ROOT}/availability/gas-1`)?.json).toMatchObject({
      type: 'device.availability',
      data: { online: true },
    });
    const birthSub = await recorder(city.url, `${ROOT}/birth`);
    cleanups.push(() => birthSub.close());
    await waitFor('retained birth', () => birthSub.messages.some((m) => m.retain));
    const birthDevices = birthSub.messages[0]!.json.devices as {
      id: string;
      family: string;
      commands: string[];
      eventTypes: string[];
    }[];
    expect(birthDevices.map((d) => d.id)).toEqual([GATEWAY, 'gas-1', 'gas-2', 'gas-3']);
    expect(birthDevices[1]).toMatchObject({
      family: 'gas-detector',
      commands: ['valve.close', 'valve.open'],
    });
    expect(birthDevices[1]!.eventTypes).toContain('gas.alarm.high');

    const responses = await recorder(city.url, `${ROOT}/cmd-response/#`);
    cleanups.push(() => responses.close());
    const replies = await recorder(city.url, 'platform/replies/#');
    cleanups.push(() => replies.close());
    const platform = connect(city.url, { protocolVersion: 5, clientId: 'city-platform' });
    cleanups.push(() => platform.endAsync(true));
    await new Promise<void>((resolve) => platform.once('connect', () => resolve()));
    const send = (
      deviceId: string,
      command: string,
      body: Record<string, unknown>,
      properties?: Record<string, unknown>,
    ) =>
      platform.publishAsync(`${ROOT}/cmd/${deviceId}/${command}`, JSON.stringify(body), {
        qos: 1,
        properties,
      });
    const responseTo = (id: string) => () => responses.messages.find((m) => m.json.id === id);

    // not on the allow-list: refused, not executed
    await send('gas-1', 'valve.close', { id: 'r-intruder', account: 'intruder' });
    await waitFor('refusal', () => !!responseTo('r-intruder')());
    expect(responseTo('r-intruder')()!.json).toMatchObject({
      status: 'error',
      deviceId: 'gas-1',
      command: 'valve.close',
    });
    expect(responseTo('r-intruder')()!.json.error).toMatch(/not authorised/);
    await send('gas-1', 'valve.open', { id: 'r-open', account: 'city-ops' }); // account allowed, command not
    await waitFor('refusal of valve.open', () => !!responseTo('r-open')());
    expect(responseTo('r-open')()!.json).toMatchObject({ status: 'error' });
    expect(sim.sim.getValve(1)).toBe(false);

    // allowed: reaches the simulated detector
    await send('gas-1', 'valve.close', { id: 'r-ok', account: 'city-ops', args: {} });
    await waitFor('ok response', () => !!responseTo('r-ok')());
    expect(responseTo('r-ok')()!.json).toMatchObject({ status: 'ok', data: { valveClosed: true } });
    expect(sim.sim.getValve(1)).toBe(true);

    // expired: answered, not executed
    await send('gas-2', 'valve.close', {
      id: 'r-late',
      account: 'city-ops',
      expiresAt: new Date(Date.now() - 1000).toISOString(),
    });
    await waitFor('expired response', () => !!responseTo('r-late')());
    expect(responseTo('r-late')()!.json).toMatchObject({ status: 'expired' });
    expect(sim.sim.getValve(2)).toBe(false);

    // MQTT 5: account as a user property, response topic and correlation data
    await send(
      'gas-3',
      'valve.close',
      { id: 'r-v5' },
      {
        userProperties: { account: 'city-ops' },
        responseTopic: 'platform/replies/42',
        correlationData: Buffer.from('corr-42'),
      },
    );
    await waitFor('reply on the response topic', () => replies.messages.length > 0);
    const reply = replies.messages[0] as Received;
    expect(reply.topic).toBe('platform/replies/42');
    expect(reply.json).toMatchObject({ id: 'r-v5', status: 'ok' });
    expect(reply.correlationData?.toString()).toBe('corr-42');
    expect(sim.sim.getValve(3)).toBe(true);

    // the same request again (redelivery): not executed twice, not answered twice
    sim.sim.setValve(1, false);
    await send('gas-1', 'valve.close', { id: 'r-ok', account: 'city-ops', args: {} });
    await send('gas-1', 'valve.close', { id: 'r-sentinel', account: 'intruder' });
    await waitFor('sentinel response', () => !!responseTo('r-sentinel')());
    expect(sim.sim.getValve(1)).toBe(false);
    const count = (id: string) => responses.messages.filter((m) => m.json.id === id).length;
    for (const id of ['r-intruder', 'r-open', 'r-ok', 'r-late', 'r-sentinel']) expect(count(id), id).toBe(1);
    expect(responses.messages.some((m) => m.json.id === 'r-v5')).toBe(false);

    // audit: who, what, when, result
    const audit = readAudit(gw.journal.db).reverse();
    expect(audit.map((a) => [a.account, a.requestId, a.deviceId, a.command, a.result])).toEqual([
      ['intruder', 'r-intruder', 'gas-1', 'valve.close', 'refused'],
      ['city-ops', 'r-open', 'gas-1', 'valve.open', 'refused'],
      ['city-ops', 'r-ok', 'gas-1', 'valve.close', 'ok'],
      ['city-ops', 'r-late', 'gas-2', 'valve.close', 'expired'],
      ['city-ops', 'r-v5', 'gas-3', 'valve.close', 'ok'],
      ['intruder', 'r-sentinel', 'gas-1', 'valve.close', 'refused'],
    ]);
    expect(audit.every((a) => a.receivedAt > 0 && (a.finishedAt ?? 0) >= a.receivedAt)).toBe(true);
    const metrics = await gw.metrics.registry.getSingleMetricAsString('gateway_uplink_commands_total');
    expect(metrics).toContain('gateway_uplink_commands_total{result="refused"} 3');
  });
});
