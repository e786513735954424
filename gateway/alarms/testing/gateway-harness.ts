/** Test harness: the real gateway (startGateway) against the gas-detector simulator over Modbus TCP, and a feed client. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { WebSocket } from 'ws';
import { validateConfig } from '../../../config/load.js';
import type { SiteConfig } from '../../../config/schema.js';
import { type RunningGasSimulatorTcp, startGasSimulatorTcp } from '../../../simulators/gas-detector/index.js';
import { hashPassword } from '../../auth/password.js';
import type { EventEnvelope } from '../../core/envelope.js';
import { createLogger } from '../../core/logger.js';
import { type GatewayOptions, startGateway } from '../../gateway.js';

export const log = createLogger(process.env.TEST_LOG ?? 'silent');
export const CONSOLE_USER = 'duty1';
export const CONSOLE_PASSWORD = 'duty-pass';
let hash: string | undefined;

export async function waitFor<T>(
  what: string,
  check: () => T | undefined | null | false,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

export async function startGasSim(): Promise<RunningGasSimulatorTcp> {
  return startGasSimulatorTcp({ units: [{ unitId: 1 }, { unitId: 2 }] });
}

/** A site config for the simulator: gas-boiler-1 (unit 1, valve relay) and gas-b1-101 (unit 2). */
export function siteConfig(
  sim: RunningGasSimulatorTcp,
  extra: Record<string, unknown> = {},
  journalPath?: string,
): SiteConfig {
  hash ??= hashPassword(CONSOLE_PASSWORD);
  const data = {
    site: { id: 'test-site' },
    gateway: { id: 'gw-01' },
    log: { level: 'warn' },
    broker: {
      listeners: [{ type: 'tcp', host: '127.0.0.1', port: 0 }],
      accounts: [{ username: CONSOLE_USER, role: 'reader', passwordHash: hash }],
    },
    journal: {
      path: journalPath ?? join(mkdtempSync(join(tmpdir(), 'alarm-gw-')), 'gw.db'),
      synchronous: 'NORMAL',
    },
    http: { host: '127.0.0.1', port: 0 },
    drivers: [
      {
        family: 'gas-detector',
        id: 'gas-line',
        transport: { type: 'tcp', host: sim.host, port: sim.port },
        pollIntervalMs: 100,
        timeoutMs: 500,
        devices: [
          { id: 'gas-boiler-1', unitId: 1, building: 'plant', zone: 'boiler-room', tags: ['valve'] },
          { id: 'gas-b1-101', unitId: 2, building: 'B1', zone: 'kitchen-101', tags: ['kitchen'] },
        ],
      },
    ],
    ...extra,
  };
  const r = validateConfig(data);
  if (!r.ok) throw new Error(`bad test config: ${JSON.stringify(r.problems)}`);
  return r.config;
}

export async function bootGateway(config: SiteConfig, opts?: GatewayOptions) {
  return startGateway(config, log, opts);
}

export interface FeedMessage {
  type: string;
  event?: EventEnvelope;
  alarms?: { id: string; rule: string; state: string }[];
  [k: string]: unknown;
}

/** A console client on the live alarm feed, logged in with HTTP Basic on the upgrade. */
export async function feedClient(httpUrl: string, user = CONSOLE_USER, password = CONSOLE_PASSWORD) {
  const ws = new WebSocket(`${httpUrl.replace(/^http/, 'ws')}/alarms/feed`, {
    headers: { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` },
  });
  const messages: FeedMessage[] = [];
  ws.on('message', (d) => messages.push(JSON.parse(d.toString()) as FeedMessage));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const alarmEvents = (type?: string, rule?: string) =>
    messages
      .filter((m) => m.type === 'alarm' && (!type || m.event?.type === type))
      .map((m) => m.event!)
      .filter((e) => !rule || (e.data.alarm as { rule: string }).rule === rule);
  let req = 0;
  return {
    ws,
    messages,
    alarmEvents,
    waitEvent: (type: string, rule?: string) =>
      waitFor(`${type} on the feed`, () => alarmEvents(type, rule)[0]),
    async request(msg: Record<string, unknown>): Promise<FeedMessage> {
      const id = `r${++req}`;
      ws.send(JSON.stringify({ ...msg, req: id }));
      return waitFor(`answer to ${id}`, () => messages.find((m) => m.req === id));
    },
    close: () => ws.close(),
  };
}
