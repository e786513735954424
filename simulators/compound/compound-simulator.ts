/**
 * The whole-compound simulator: reads a site config and starts a simulator for every
 * simulated device it describes (today: gas detectors behind Modbus TCP on loopback), plus a
 * small HTTP control API to change their state while the gateway runs:
 *
 *   GET  /devices            every simulated device and its state
 *   POST /devices/<id>       {"lel": 60} {"fault": 3} {"responding": false} {"valveClosed": false}
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import type { SiteConfig } from '../../config/schema.js';
import type { GasDetectorConfig } from '../../drivers/gas-detector/schema.js';
import type { Logger } from '../../gateway/core/logger.js';
import { type RunningGasSimulatorTcp, startGasSimulatorTcp } from '../gas-detector/index.js';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

const GasChange = z.strictObject({
  lel: z.number().min(0).max(100).optional(),
  fault: z.number().int().min(0).max(0xffff).optional(),
  responding: z.boolean().optional(),
  valveClosed: z.boolean().optional(),
  lowThreshold: z.number().min(0).max(100).optional(),
  highThreshold: z.number().min(0).max(100).optional(),
});

interface SimulatedDevice {
  family: string;
  state(): Record<string, unknown>;
  apply(body: unknown): void;
}

export interface CompoundSimulator {
  url: string;
  devices: ReadonlyMap<string, SimulatedDevice>;
  exampleDevice: string;
  close(): Promise<void>;
}

export async function startCompoundSimulator(
  config: SiteConfig,
  log: Logger,
  opts: { controlPort?: number } = {},
): Promise<CompoundSimulator> {
  const devices = new Map<string, SimulatedDevice>();
  const servers: RunningGasSimulatorTcp[] = [];
  for (const d of config.drivers) {
    if (d.family !== 'gas-detector') continue;
    const gas = d as unknown as GasDetectorConfig;
    if (gas.transport.type !== 'tcp' || !LOOPBACK.has(gas.transport.host)) {
      log.info({ driver: d.id }, 'not simulated: real bus (RTU or non-loopback TCP)');
      continue;
    }
    const running = await startGasSimulatorTcp({
      host: gas.transport.host,
      port: gas.transport.port,
      units: gas.devices.map((dev) => dev.unitId),
    });
    servers.push(running);
    const { sim } = running;
    for (const dev of gas.devices) {
      const unit = dev.unitId;
      devices.set(dev.id, {
        family: 'gas-detector',
        state: () => ({
          unitId: unit,
          status: sim.status(unit),
          valveClosed: sim.getValve(unit),
          requests: sim.requests(unit),
        }),
        apply(body) {
          const c = GasChange.parse(body);
          if (c.lel !== undefined) sim.setLel(unit, c.lel);
          if (c.fault !== undefined) sim.setFault(unit, c.fault);
          if (c.responding !== undefined) sim.setResponding(unit, c.responding);
          if (c.valveClosed !== undefined) sim.setValve(unit, c.valveClosed);
          if (c.lowThreshold !== undefined || c.highThreshold !== undefined) {
            const words = sim.registers(unit);
            const f = sim.map.fields;
            sim.setThresholds(
              unit,
              c.lowThreshold ?? (words[f.lowThreshold.offset] ?? 0) * f.lowThreshold.scale,
              c.highThreshold ?? (words[f.highThreshold.offset] ?? 0) * f.highThreshold.scale,
            );
          }
        },
      });
    }
    log.info(
      { driver: d.id, port: running.port, units: gas.devices.length },
      'gas detector simulator (Modbus TCP)',
    );
  }

  const server = createServer((req, res) => void control(req, res, devices));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.controlPort ?? 8090, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    devices,
    exampleDevice: devices.keys().next().value ?? 'none',
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.all(servers.map((s) => s.close()));
    },
  };
}

async function control(
  req: IncomingMessage,
  res: ServerResponse,
  devices: ReadonlyMap<string, SimulatedDevice>,
) {
  const send = (code: number, body: unknown) =>
    res.writeHead(code, { 'content-type': 'application/json' }).end(`${JSON.stringify(body)}\n`);
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  if (req.method === 'GET' && path === '/devices') {
    return send(
      200,
      Object.fromEntries([...devices].map(([id, d]) => [id, { family: d.family, ...d.state() }])),
    );
  }
  const m = /^\/devices\/([^/]+)$/.exec(path);
  const device = m ? devices.get(decodeURIComponent(m[1]!)) : undefined;
  if (!device) return send(404, { error: `no simulated device at ${path}`, hint: 'GET /devices lists them' });
  if (req.method === 'GET') return send(200, device.state());
  if (req.method !== 'POST') return send(405, { error: 'use GET or POST' });
  let text = '';
  for await (const chunk of req) {
    text += chunk;
    if (text.length > 10_000) return send(413, { error: 'body too large' });
  }
  try {
    device.apply(JSON.parse(text || '{}'));
  } catch (err) {
    const why =
      err instanceof z.ZodError
        ? err.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ')
        : String(err);
    return send(400, { error: why, hint: 'e.g. {"lel": 60}, {"fault": 3}, {"responding": false}' });
  }
  return send(200, device.state());
}
