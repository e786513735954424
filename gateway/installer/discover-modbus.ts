/**
 * `gateway discover modbus --port /dev/ttyUSB0 [--baud 9600] [--parity none] [--units 1-247]` or
 * `--tcp host:port`: finds the units answering on one bus, guesses each one's family and model
 * from the shipped models of every Modbus family (and the site's own, with --config), and prints
 * the site-file entries to paste.
 */
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { loadConfig } from '../../config/load.js';
import { type FoundUnit, type ModbusCandidate, parseUnits, scanModbus } from '../../drivers/modbus/discover.js';
import type { ModbusTransport } from '../../drivers/modbus/modbus-transport.js';
import type { RegisterMap } from '../../drivers/modbus/register-map.js';
import type { FamilyDiscover } from '../devices/driver-api.js';
import { MODBUS_FAMILIES } from './modbus-families.js';

export const MODBUS_DISCOVER_USAGE = `gateway discover modbus (--port /dev/ttyUSB0 [--baud 9600] [--parity none|even|odd] | --tcp host[:502])
                            [--units 1-247] [--timeout 300] [--config <site.yaml>]
                                         find the Modbus units on a bus, guess their family and model
                                         (shipped models, and the site's own with --config), print entries`;

/** Every model a unit may be: the shipped ones of each Modbus family, then the site's `models:`. */
export function modbusCandidates(siteFile?: string): ModbusCandidate[] {
  const out: ModbusCandidate[] = [];
  for (const f of MODBUS_FAMILIES) {
    for (const [model, map] of Object.entries(f.models)) out.push({ family: f.family, model, map });
  }
  if (siteFile) {
    for (const d of loadConfig(siteFile).drivers) {
      const models = (d as { models?: Record<string, RegisterMap> }).models;
      if (!MODBUS_FAMILIES.some((f) => f.family === d.family) || !models) continue;
      for (const [model, map] of Object.entries(models)) {
        if (!out.some((c) => c.family === d.family && c.model === model)) out.push({ family: d.family, model, map });
      }
    }
  }
  return out;
}

function transportOf(v: { port?: string; tcp?: string; baud?: string; parity?: string }): ModbusTransport {
  if (!!v.port === !!v.tcp) throw new Error('give the bus: --port /dev/ttyUSB0 (RS-485, Modbus RTU) or --tcp host:port (Modbus TCP), one of them');
  if (v.tcp) {
    const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(v.tcp);
    const port = Number(m?.[2] ?? 502);
    if (!m || !(port >= 1 && port <= 65535)) throw new Error(`--tcp "${v.tcp}": give host or host:port, e.g. 192.168.1.50:502`);
    return { type: 'tcp', host: m[1]!.replace(/^\[|\]$/g, ''), port };
  }
  const baudRate = Number(v.baud ?? 9600);
  if (!Number.isInteger(baudRate) || baudRate < 300 || baudRate > 921_600) throw new Error(`--baud "${v.baud}": give the bus speed, e.g. 9600 or 19200`);
  const parity = v.parity ?? 'none';
  if (parity !== 'none' && parity !== 'even' && parity !== 'odd') throw new Error(`--parity "${parity}": give none, even or odd`);
  return { type: 'rtu', path: v.port!, baudRate, parity, dataBits: 8, stopBits: 1 };
}

/** The site-file driver entries for what was found: one per family, its units as devices. */
export function entriesFor(transport: ModbusTransport, found: readonly FoundUnit[]): string {
  const drivers = [];
  for (const f of MODBUS_FAMILIES) {
    const units = found.filter((u) => u.fits[0]?.family === f.family);
    if (units.length === 0) continue;
    const entries = units.map((u) => ({ id: `${f.family}-${u.unitId}`, unitId: u.unitId, model: u.fits[0]!.model }));
    drivers.push({ family: f.family, id: `${f.family}-bus`, transport, [f.unitsKey]: entries });
  }
  return drivers.length ? stringify({ drivers }, { lineWidth: 0 }) : '';
}

export function formatFound(transport: ModbusTransport, units: number, found: readonly FoundUnit[]): string {
  const where = transport.type === 'tcp' ? `tcp ${transport.host}:${transport.port}` : `rtu ${transport.path} ${transport.baudRate} baud, parity ${transport.parity}`;
  const lines = [`${where}: ${found.length} of ${units} unit ids answered`];
  for (const u of found) {
    const guess = u.fits.length
      ? u.fits.map((f, i) => `${i === 0 ? '' : 'or '}${f.family} ${f.model}`).join(', ')
      : `no shipped model fits (${u.probe}); describe it under models: (docs/modbus-device-maps.md)`;
    lines.push(`  unit ${String(u.unitId).padStart(3)}: ${guess}`);
  }
  if (found.length === 0) {
    lines.push('  nothing answered: check the wiring (A/B swapped?), the speed and parity (--baud, --parity), the unit ids, and the 120 Ω termination');
  }
  const yaml = entriesFor(transport, found);
  if (yaml) lines.push('', '# site-file entries (give each device its building and zone; io-module inputs and outputs are listed separately):', yaml.trimEnd());
  return lines.join('\n');
}

async function run(args: readonly string[]): Promise<string> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      port: { type: 'string' },
      tcp: { type: 'string' },
      baud: { type: 'string' },
      parity: { type: 'string' },
      units: { type: 'string' },
      timeout: { type: 'string' },
      config: { type: 'string', short: 'c' },
    },
  });
  const transport = transportOf(values);
  const units = parseUnits(values.units ?? '1-247');
  const timeoutMs = Number(values.timeout ?? 300);
  if (!Number.isInteger(timeoutMs) || timeoutMs < 20 || timeoutMs > 10_000) throw new Error(`--timeout "${values.timeout}": give the response timeout in ms, 20..10000`);
  const found = await scanModbus({ transport, units, timeoutMs, candidates: modbusCandidates(values.config) });
  return formatFound(transport, units.length, found);
}

/** The platform's `gateway discover modbus`: Modbus is shared by several families, so no one family owns it. */
export const modbusDiscover: FamilyDiscover = { protocol: 'modbus', usage: MODBUS_DISCOVER_USAGE, run };
