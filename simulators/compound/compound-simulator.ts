/**
 * The whole-compound simulator: reads a site config and, for every driver instance whose family
 * has a simulator in the registry, starts it (each family decides what it can simulate, e.g.
 * gas detectors behind Modbus TCP on loopback), plus a small HTTP control API to change the
 * devices' state while the gateway runs:
 *
 *   GET  /devices            every simulated device and its state
 *   GET  /devices/<id>       one device's state
 *   POST /devices/<id>       a change, e.g. {"lel": 60} {"fault": 3} {"responding": false}
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { FAMILIES } from '../../drivers/index.js';
import type { Logger } from '../../gateway/core/logger.js';
import type {
  DriverConfig,
  FamilySimulator,
  SimulatedDevice,
  SimulatorSite,
} from '../../gateway/devices/driver-api.js';

interface Entry {
  device: SimulatedDevice;
  hint: string;
}

export interface CompoundSimulator {
  url: string;
  devices: ReadonlyMap<string, SimulatedDevice>;
  exampleDevice: string;
  /** One example change per simulated family: its first device and the first example of its hint. */
  examples: readonly { family: string; device: string; change: string }[];
  close(): Promise<void>;
}

interface SiteBroker {
  listeners: readonly { type: string; host: string; port: number }[];
}

/** The embedded broker as a simulator on this machine reaches it: the first TCP listener with a known port. */
export function siteOf(config: { broker?: SiteBroker }): SimulatorSite {
  const tcp = config.broker?.listeners.find((l) => l.type === 'tcp');
  if (!tcp || tcp.port === 0) return {};
  const host = ['0.0.0.0', '::', ''].includes(tcp.host) ? '127.0.0.1' : tcp.host.includes(':') ? `[${tcp.host}]` : tcp.host;
  return { brokerUrl: `mqtt://${host}:${tcp.port}` };
}

export async function startCompoundSimulator(
  config: { drivers: readonly DriverConfig[]; broker?: SiteBroker },
  log: Logger,
  opts: { controlPort?: number } = {},
): Promise<CompoundSimulator> {
  const entries = new Map<string, Entry>();
  const running: { close(): Promise<void> }[] = [];
  const closeAll = () => Promise.all(running.map((r) => r.close()));
  const loaded = new Map<string, FamilySimulator | undefined>();
  const site = siteOf(config);
  try {
    for (const d of config.drivers) {
      const registered = FAMILIES.find((f) => f.definition.family === d.family);
      if (!loaded.has(d.family)) loaded.set(d.family, await registered?.simulator?.());
      const sim = loaded.get(d.family);
      if (!sim) {
        log.info({ driver: d.id, family: d.family }, 'not simulated: the family has no simulator');
        continue;
      }
      const started = await sim.start(d, log, site);
      if (!started) continue;
      running.push(started);
      for (const device of started.devices) entries.set(device.id, { device, hint: sim.changeHint });
    }
  } catch (err) {
    await closeAll();
    throw err;
  }

  const server = createServer((req, res) => void control(req, res, entries));
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.controlPort ?? 8090, '127.0.0.1', resolve);
    });
  } catch (err) {
    await closeAll();
    throw err;
  }
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    devices: new Map([...entries].map(([id, e]) => [id, e.device])),
    exampleDevice: entries.keys().next().value ?? 'none',
    examples: examplesOf(entries),
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await closeAll();
    },
  };
}

function examplesOf(entries: ReadonlyMap<string, Entry>) {
  const out: { family: string; device: string; change: string }[] = [];
  for (const [id, e] of entries) {
    if (out.some((x) => x.family === e.device.family)) continue;
    out.push({ family: e.device.family, device: id, change: /\{[^}]*\}/.exec(e.hint)?.[0] ?? '{}' });
  }
  return out;
}

async function control(req: IncomingMessage, res: ServerResponse, entries: ReadonlyMap<string, Entry>) {
  const send = (code: number, body: unknown) =>
    res.writeHead(code, { 'content-type': 'application/json' }).end(`${JSON.stringify(body)}\n`);
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  if (req.method === 'GET' && path === '/devices') {
    return send(
      200,
      Object.fromEntries([...entries].map(([id, e]) => [id, { family: e.device.family, ...e.device.state() }])),
    );
  }
  const m = /^\/devices\/([^/]+)$/.exec(path);
  const entry = m ? entries.get(decodeURIComponent(m[1]!)) : undefined;
  if (!entry) return send(404, { error: `no simulated device at ${path}`, hint: 'GET /devices lists them' });
  if (req.method === 'GET') return send(200, entry.device.state());
  if (req.method !== 'POST') return send(405, { error: 'use GET or POST' });
  let text = '';
  for await (const chunk of req) {
    text += chunk;
    if (text.length > 10_000) return send(413, { error: 'body too large' });
  }
  try {
    await entry.device.apply(JSON.parse(text || '{}'));
  } catch (err) {
    const why =
      err instanceof z.ZodError
        ? err.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ')
        : String(err);
    return send(400, { error: why, hint: entry.hint });
  }
  return send(200, entry.device.state());
}
