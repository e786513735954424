/**
 * The demo: `gateway demo` starts the simulated compound and the
 * gateway; a subscriber on the local broker sees normalised gas events, and raising a
 * detector's gas level above its high threshold produces `gas.alarm.high` from the very
 * next poll. Runs the real command on a copy of the demo site with free ports.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectAsync } from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { freePort } from '../core/free-port.js';
import type { EventEnvelope } from '../core/envelope.js';
import { type GatewayProcess, spawnGateway, tempDir, writeSiteConfig } from './testing/harness.js';

describe('npm run demo', { timeout: 60_000 }, () => {
  let gw: GatewayProcess | undefined;
  afterAll(async () => {
    if (gw && gw.child.exitCode === null) {
      gw.child.kill('SIGTERM');
      await gw.exited;
    }
  });

  it('runs the simulated compound; high gas gives gas.alarm.high from the next poll', async () => {
    const site = parse(readFileSync('config/examples/demo-compound.yaml', 'utf8'));
    const dir = tempDir('demo-');
    site.journal.path = join(dir, 'demo.db');
    site.http.port = 0;
    // A known broker port: the simulated LoRaWAN network server publishes into it.
    site.broker.listeners = [{ type: 'tcp', host: '127.0.0.1', port: await freePort() }];
    for (const d of site.drivers) {
      if (d.transport) d.transport.port = await freePort();
      if (d.listen) d.listen.port = await freePort();
      for (const dev of d.devices ?? []) {
        if (dev.url) dev.url = `http://127.0.0.1:${await freePort()}`;
        // a simulated camera listens on its device entry's port
        if (d.family === 'onvif-camera') dev.port = await freePort();
      }
    }
    gw = spawnGateway(['demo', '--config', writeSiteConfig(dir, site), '--sim-port', '0']);

    const broker = (await gw.waitFor(/local broker:\s+(mqtt:\/\/\S+)/))[1]!;
    const simUrl = (await gw.waitFor(/simulator:\s+(http:\/\/\S+)/))[1]!;
    const opsUrl = (await gw.waitFor(/ops:\s+(http:\/\/\S+)\/healthz/))[1]!;
    // the banner shows one example change per simulated family
    for (const family of ['gas-detector', 'smoke-detector', 'alarm-button', 'io-module', 'access-gate']) {
      expect(gw.stdout()).toMatch(new RegExp(`${family}\\s+curl -X POST ${simUrl}/devices/\\S+ -d '\\{`));
    }
    const sub = await connectAsync(broker, { protocolVersion: 4, reconnectPeriod: 0 }); // anonymous read: demo mode
    const events: EventEnvelope[] = [];
    // events as they happen, and the retained last reading of every detector (published before we came)
    sub.on('message', (topic, p) => {
      if (/\/(events|state)\//.test(topic)) events.push(JSON.parse(p.toString()));
    });
    await sub.subscribeAsync(
      ['cg/v1/sunshine-garden/gw-01/events/#', 'cg/v1/sunshine-garden/gw-01/state/#'],
      { qos: 1 },
    );
    const waitFor = async (pred: (e: EventEnvelope) => boolean) => {
      for (let i = 0; i < 200; i++) {
        const e = events.find(pred);
        if (e) return e;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`event not seen; got ${events.map((e) => `${e.device.id}:${e.type}`).join(', ')}`);
    };

    // normalised readings of the detectors (the first poll reports every detector; retained as state)
    await waitFor((e) => e.type === 'gas.reading' && e.device.id === 'gas-b1-101');
    const reading = events.find((e) => e.type === 'gas.reading')!;
    expect(reading).toMatchObject({ v: 1, site: 'sunshine-garden', gateway: 'gw-01', kind: 'telemetry' });
    expect(reading.device).toMatchObject({ family: 'gas-detector', building: expect.any(String) });

    const post = async (body: unknown) => {
      const res = await fetch(`${simUrl}/devices/gas-b1-102`, { method: 'POST', body: JSON.stringify(body) });
      expect(res.status).toBe(200);
      return (await res.json()) as { requests: number; status: string };
    };
    const before = await post({ lel: 60 });
    expect(before.status).toBe('high');
    const alarm = await waitFor((e) => e.type === 'gas.alarm.high' && e.device.id === 'gas-b1-102');
    expect(alarm).toMatchObject({ kind: 'alarm', severity: 'critical', data: { lel: 60, status: 'high' } });
    // Within one poll interval: the detector was polled at most once between the change and the alarm
    // (read right after the alarm; a 1 s poll interval leaves no room for a second poll).
    const after = (await (await fetch(`${simUrl}/devices/gas-b1-102`)).json()) as { requests: number };
    expect(after.requests - before.requests).toBe(1);

    // bad control input is refused with a clear error and changes nothing
    const bad = await fetch(`${simUrl}/devices/gas-b1-102`, { method: 'POST', body: '{"lel":"lots"}' });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toMatch(/lel/);

    // an operator (admin account) closes the boiler-room valve through the local bus
    const ops = await connectAsync(broker, {
      protocolVersion: 4,
      reconnectPeriod: 0,
      username: 'ops',
      password: 'ops-demo',
    });
    const response = new Promise<Record<string, unknown>>((resolve) =>
      ops.on('message', (_t, p) => resolve(JSON.parse(p.toString()))),
    );
    await ops.subscribeAsync('cg/v1/sunshine-garden/gw-01/cmd-response/gas-boiler-1', { qos: 1 });
    await ops.publishAsync('cg/v1/sunshine-garden/gw-01/cmd/gas-boiler-1/valve.close', '{"id":"op-1"}', {
      qos: 1,
    });
    expect(await response).toMatchObject({
      id: 'op-1',
      status: 'ok',
      deviceId: 'gas-boiler-1',
      command: 'valve.close',
    });
    const boiler = (await (await fetch(`${simUrl}/devices/gas-boiler-1`)).json()) as { valveClosed: boolean };
    expect(boiler.valveClosed).toBe(true);
    ops.end(true);

    // operations endpoints
    const health = (await (await fetch(`${opsUrl}/healthz`)).json()) as {
      ok: boolean;
      drivers: { state: string }[];
    };
    expect(health.ok).toBe(true);
    expect(health.drivers.map((d) => d.state)).toEqual(site.drivers.map(() => 'running'));
    // the simulated camera listens on the free port its entry was given
    const camPort = site.drivers.find((d: { family: string }) => d.family === 'onvif-camera').devices[0].port;
    const camera = (await (await fetch(`${simUrl}/devices/cam-b1-lobby`)).json()) as { url: string };
    expect(camera.url).toBe(`http://127.0.0.1:${camPort}/onvif/device_service`);
    const metrics = await (await fetch(`${opsUrl}/metrics`)).text();
    expect(metrics).toMatch(/gateway_events_in_total\{family="gas-detector",kind="alarm"\} [1-9]/);
    expect(metrics).toMatch(/gateway_devices_online\{family="gas-detector"\} 7/);
    sub.end(true);
  });
});
