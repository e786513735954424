/**
 * `gateway doctor --config <site.yaml> [--lang en|zh-CN] [--wait 15s] [--user compound-gw]`: checks
 * a site before the gateway runs there, and prints a table of OK / WARN / FAIL with the fix of
 * each failure. Exit 1 on any FAIL. Run it with the gateway stopped: it listens on the gateway's
 * ports for a moment, runs the local broker (so devices and network servers that publish into it
 * can log in) and the drivers for up to the wait, and polls the devices as the gateway would.
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../../config/load.js';
import type { SiteConfig } from '../../config/schema.js';
import { parseDuration } from '../core/time.js';
import { checkDevices } from './doctor-devices.js';
import { checkCityBroker, checkDriverBrokers } from './doctor-links.js';
import { type CheckResult, formatReport, type Lang } from './doctor-result.js';
import { checkClock, checkDisk, checkPorts, checkSerial } from './doctor-system.js';

export const DOCTOR_USAGE = `gateway doctor --config <site.yaml> [--lang en|zh-CN] [--wait 15s] [--user compound-gw]
                                         check a site before starting the gateway (stopped): ports, serial
                                         devices, clock, disk, the city broker, every device; exit 1 on a FAIL`;

export interface DoctorOptions {
  /** How long the devices get to answer. */
  waitMs: number;
  /** The service user that must be able to open the serial devices. */
  user: string;
  /** Timeout of each broker connection. */
  connectTimeoutMs?: number;
}

/** Every check, in the order of the table: what the gateway needs of the machine first, then links, then devices. */
export async function runDoctor(cfg: SiteConfig, o: DoctorOptions): Promise<CheckResult[]> {
  const timeout = o.connectTimeoutMs ?? 5000;
  return [
    ...(await checkPorts(cfg)),
    ...checkSerial(cfg, o.user),
    checkClock(),
    checkDisk(cfg),
    ...(await checkCityBroker(cfg, timeout)),
    ...(await checkDriverBrokers(cfg, timeout)),
    ...(await checkDevices(cfg, o.waitMs)),
  ];
}

/** The command: returns the report and the exit code (1 on any FAIL). Bad usage throws. */
export async function doctorCommand(args: readonly string[]): Promise<{ text: string; code: number }> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      config: { type: 'string', short: 'c' },
      lang: { type: 'string' },
      wait: { type: 'string' },
      user: { type: 'string' },
    },
  });
  if (!values.config) throw new Error('missing --config <site.yaml>');
  const lang = values.lang ?? 'en';
  if (lang !== 'en' && lang !== 'zh-CN') throw new Error(`--lang "${lang}": give en or zh-CN`);
  const waitMs = parseDuration(values.wait ?? '15s');
  const cfg = loadConfig(values.config);
  const results = await runDoctor(cfg, { waitMs, user: values.user ?? 'compound-gw' });
  return { text: formatReport(results, lang as Lang), code: results.some((r) => r.status === 'FAIL') ? 1 : 0 };
}
