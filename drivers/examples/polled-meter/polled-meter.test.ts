import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { DriverConfig } from '../../../gateway/devices/driver-api.js';
import { type HostHarness, startHost } from '../../../gateway/devices/testing/host-harness.js';
import { polledMeter } from './index.js';

// The device: a tiny HTTP server on 127.0.0.1 whose answer the test changes.
type Mode = { kind: 'value'; value: number } | { kind: 'error' } | { kind: 'garbage' };

async function meterDevice(): Promise<{ url: string; mode: Mode; served: number; close(): Promise<void> }> {
  const state = { mode: { kind: 'value', value: 1 } as Mode, served: 0 };
  const server: Server = createServer((req, res) => {
    state.served++;
    const m = state.mode;
    if (m.kind === 'error') {
      res.writeHead(503).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(m.kind === 'value' ? JSON.stringify({ value: m.value }) : '{"reading": "n/a"}');
  });
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}/reading`,
    get mode() {
      return state.mode;
    },
    set mode(m: Mode) {
      state.mode = m;
    },
    get served() {
      return state.served;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function until(what: string, cond: () => boolean): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for: ${what}`);
}

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function boot(): Promise<{ h: HostHarness; dev: Awaited<ReturnType<typeof meterDevice>> }> {
  const dev = await meterDevice();
  cleanup.push(dev.close);
  const config = polledMeter.configSchema.parse({
    id: 'meters',
    family: 'polled-meter',
    pollIntervalMs: 100,
    offlineAfterFailures: 2,
    backoff: { initialMs: 100, maxMs: 200 },
    timeoutMs: 1000,
    devices: [{ id: 'meter-1', url: dev.url }],
  }) as DriverConfig;
  const h = startHost({ families: [polledMeter], drivers: [config] });
  cleanup.push(h.close);
  return { h, dev };
}

const values = (h: HostHarness) => h.eventsOf('meter-1', 'meter.reading').map((e) => e.data.value);

describe('polled-meter under the driver host', () => {
  it('reads the device: online, one telemetry reading per poll', async () => {
    const { h, dev } = await boot();
    dev.mode = { kind: 'value', value: 42.5 };
    await until('a reading', () => values(h).length > 0);
    expect(h.online('meter-1')).toBe(true);
    expect(values(h)[0]).toBe(42.5);
    expect(h.eventsOf('meter-1', 'meter.reading')[0]).toMatchObject({ kind: 'telemetry', severity: 'info' });
    expect(h.invalids).toEqual([]);
  });

  it('goes offline after failed polls, and online again when the device answers', async () => {
    const { h, dev } = await boot();
    await until('online', () => h.online('meter-1') === true);
    dev.mode = { kind: 'error' };
    await until('offline', () => h.online('meter-1') === false);
    expect(h.pollErrors.length).toBeGreaterThanOrEqual(2);
    expect(h.pollErrors[0]!.reason).toMatch(/HTTP 503/);
    const before = values(h).length;
    dev.mode = { kind: 'value', value: 7 };
    await until('back online', () => h.online('meter-1') === true);
    await until('a reading after the outage', () => values(h).length > before);
    expect(values(h).at(-1)).toBe(7);
    expect(h.availabilityLog.map((a) => a.online)).toEqual([true, false, true]);
  });

  it('an answer that is not a reading is reported invalid, not as an event', async () => {
    const { h, dev } = await boot();
    dev.mode = { kind: 'garbage' };
    await until('an invalid', () => h.invalids.length > 0);
    expect(h.invalids[0]).toMatchObject({ deviceId: 'meter-1', reason: 'answer is not {"value": <number>}' });
    expect(values(h)).toEqual([]);
    expect(dev.served).toBeGreaterThan(0);
  });
});
