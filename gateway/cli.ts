#!/usr/bin/env node
/**
 * `gateway` command line: start, check-config, events, hash-password, demo, version, and the
 * subcommands families provide (e.g. `gateway bins report`).
 * Exit codes: 0 ok, 1 runtime failure, 2 bad configuration or usage.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { ConfigError, loadConfig } from '../config/load.js';
import type { SiteConfig } from '../config/schema.js';
import { alarmsReport, rulesReport } from './alarms/alarm-cli.js';
import { DEFINITIONS } from '../drivers/index.js';
import { hashPassword } from './auth/password.js';
import { errorMessage, GatewayError } from './core/errors.js';
import { createLogger, type Logger } from './core/logger.js';
import { parseSince } from './core/time.js';
import type { AnyFamily } from './devices/driver-api.js';
import { driverStore } from './devices/driver-store.js';
import { type Gateway, startGateway } from './gateway.js';
import { Journal } from './journal/journal.js';
import { planDemoPorts, portFlag } from './demo/ports.js';
import { SETUP_COMMANDS, SETUP_USAGE } from './setup/setup-cli.js';
import { formatOutboxReport, outboxReport } from './uplink/outbox-report.js';
import { INSTALLER_COMMANDS, INSTALLER_USAGE, PLATFORM_DISCOVER } from './installer/commands.js';
import { PACKAGE_ROOT, VERSION } from './core/version.js';

/** `gateway discover <protocol>`: the platform's (e.g. modbus, shared by several families) and the families'. */
const DISCOVERERS = [...PLATFORM_DISCOVER, ...DEFINITIONS.flatMap((d) => (d.discover ? [d.discover] : []))];

const USAGE = `gateway ${VERSION}: smart-compound IoT edge gateway

usage:
  gateway start --config <site.yaml>     run the gateway
  gateway check-config <site.yaml>       validate a site file; exit 2 and list every problem if it is bad
  gateway events --config <site.yaml> [--since 1h|2026-11-23T08:00Z] [--device ID] [--type gas.alarm] [--limit N] [--json]
                                         print stored events from the journal: the newest N (default 100),
                                         or with --since the first N from that time on
  gateway outbox --config <site.yaml> [--audit N] [--json]
                                         uplink link state, backlog per lane, oldest pending age, drain rate,
                                         evictions (and the last N platform commands) from the database
  gateway alarms --config <site.yaml> [--limit N] [--json]
                                         active alarms, pending \`for\` timers (and the last N ended alarms)
  gateway rules --config <site.yaml> [--json]
                                         the alarm rules this site runs (built-in and its own)
  gateway hash-password [password]       print a hash for broker.accounts[].passwordHash (reads stdin if omitted)
  gateway demo [--config <site.yaml>] [--sim-port 8090] [--broker-port 1883] [--http-port 8080] [--simulators-only]
                                         run the simulated demo compound and the gateway against it
                                         (built-in site file: a port another program holds is replaced by a free one);
                                         --simulators-only: the simulated compound alone (e.g. to try gateway doctor on it)
  gateway version                        print the version
${SETUP_USAGE}
${INSTALLER_USAGE}
${DEFINITIONS.flatMap((d) => (d.cli ? [`  ${d.cli.usage}`] : [])).join('\n')}
${DISCOVERERS.map((d) => `  ${d.usage}`).join('\n')}
`;

const DEMO_CONFIG = join(PACKAGE_ROOT, 'config/examples/demo-compound.yaml');

class UsageError extends GatewayError {
  constructor(message: string) {
    super('USAGE', message, 'run `gateway --help`');
  }
}

function configOrExit(file: string | undefined): SiteConfig {
  if (!file) throw new UsageError('missing --config <site.yaml>');
  return loadConfig(file);
}

/**
 * `gateway <name> … --config <site.yaml>` of a family: it reads its driver instances' stores from
 * the gateway's database, opened read-only (the gateway may be running).
 */
function runFamilyCli(family: AnyFamily, args: string[]): number {
  const i = args.findIndex((a) => a === '--config' || a === '-c' || a.startsWith('--config='));
  const file = i < 0 ? undefined : args[i]!.startsWith('--config=') ? args[i]!.slice(9) : args[i + 1];
  const cfg = configOrExit(file);
  const rest = i < 0 ? args : args.filter((_, j) => j !== i && (j !== i + 1 || args[i]!.startsWith('--config=')));
  let db: Database.Database;
  try {
    db = new Database(cfg.journal.path, { readonly: true, fileMustExist: true });
    db.prepare('SELECT 1 FROM driver_state LIMIT 1').all();
  } catch (err) {
    throw new GatewayError('JOURNAL_OPEN', `cannot read ${cfg.journal.path}: ${errorMessage(err)}`, 'check journal.path; the gateway creates the database when it first runs');
  }
  try {
    const ctx = { drivers: cfg.drivers.filter((d) => d.family === family.family), store: (id: string) => driverStore(db, id, Date.now), now: Date.now };
    let out: string;
    try {
      out = family.cli!.run(rest, ctx);
    } catch (err) {
      throw err instanceof GatewayError ? err : new UsageError(errorMessage(err));
    }
    console.log(out);
    return 0;
  } finally {
    db.close();
  }
}

/** `gateway discover <protocol> …`: the platform or the family that discovers that protocol finds its devices. */
async function runDiscover([protocol, ...args]: string[]): Promise<number> {
  const discoverer = DISCOVERERS.find((d) => d.protocol === protocol);
  if (!discoverer) throw new UsageError(`discover ${protocol ?? ''}: give one of ${DISCOVERERS.map((d) => d.protocol).join(', ')}`);
  let out: string;
  try {
    out = await discoverer.run(args);
  } catch (err) {
    throw new UsageError(errorMessage(err));
  }
  console.log(out);
  return 0;
}

/** Announces readiness once SIGTERM/SIGINT stop the gateway cleanly (not before), then waits for one. */
async function runUntilSignal(
  gw: Gateway,
  log: Logger,
  announce: () => void,
  cleanup?: () => Promise<void>,
): Promise<void> {
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info({ signal }, 'stopping');
      resolve();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
    announce();
  });
  await gw.close();
  await cleanup?.();
  log.flush();
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  const family = DEFINITIONS.find((d) => d.cli !== undefined && d.cli.name === cmd);
  if (family) return runFamilyCli(family, rest);
  if (cmd === 'discover') return runDiscover(rest);
  if (cmd && Object.hasOwn(SETUP_COMMANDS, cmd)) return SETUP_COMMANDS[cmd]!(rest);
  if (cmd && Object.hasOwn(INSTALLER_COMMANDS, cmd)) return INSTALLER_COMMANDS[cmd]!(rest);
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      config: { type: 'string', short: 'c' },
      since: { type: 'string' },
      device: { type: 'string' },
      type: { type: 'string' },
      limit: { type: 'string' },
      json: { type: 'boolean' },
      audit: { type: 'string' },
      'sim-port': { type: 'string' },
      'broker-port': { type: 'string' },
      'http-port': { type: 'string' },
      'simulators-only': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  switch (cmd) {
    case 'version':
    case '--version':
      console.log(VERSION);
      return 0;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      console.log(USAGE);
      return cmd === undefined ? 2 : 0;
    case 'check-config': {
      const file = positionals[0] ?? values.config;
      const cfg = configOrExit(file);
      const devices = cfg.drivers.reduce((n, d) => n + d.devices.length, 0);
      console.log(
        `${file}: ok (site ${cfg.site.id}, gateway ${cfg.gateway.id}, ${cfg.drivers.length} drivers, ${devices} devices)`,
      );
      return 0;
    }
    case 'start': {
      const cfg = configOrExit(values.config ?? positionals[0]);
      const log = createLogger(cfg.log.level);
      const gw = await startGateway(cfg, log);
      await runUntilSignal(gw, log, () =>
        console.log(
          `gateway ready: ops ${gw.http.url}/healthz  local broker ${gw.broker.listeners.map((l) => `${l.type}://${l.host}:${l.port}`).join(' ')}`,
        ),
      );
      return 0;
    }
    case 'demo': {
      const ports = await planDemoPorts(configOrExit(values.config ?? DEMO_CONFIG), {
        builtIn: values.config === undefined,
        brokerPort: portFlag('--broker-port', values['broker-port']),
        httpPort: portFlag('--http-port', values['http-port']),
        simPort: portFlag('--sim-port', values['sim-port']) ?? 8090,
        simPortChosen: values['sim-port'] !== undefined,
      });
      const cfg = ports.config;
      const log = createLogger(cfg.log.level);
      const { startCompoundSimulator } = await import('../simulators/compound/compound-simulator.js');
      const sim = await startCompoundSimulator(cfg, log.child({ component: 'simulator' }), { controlPort: ports.simPort });
      if (values['simulators-only']) {
        console.log(
          [
            '',
            `  Simulated compound "${cfg.site.name ?? cfg.site.id}" is running (no gateway).`,
            `  simulator:       ${sim.url}  (GET ${sim.url}/devices lists every simulated device)`,
            `  check it:        gateway doctor --config ${values.config ?? DEMO_CONFIG}`,
            '  stop:            Ctrl-C',
            '',
          ].join('\n'),
        );
        await new Promise<void>((resolve) => {
          process.once('SIGINT', resolve);
          process.once('SIGTERM', resolve);
        });
        await sim.close();
        return 0;
      }
      const gw = await startGateway(cfg, log).catch(async (err: unknown) => {
        await sim.close();
        throw err;
      });
      const tcp = gw.broker.listeners.find((l) => l.type === 'tcp');
      const announce = () =>
        console.log(
        [
          '',
          `  Demo compound "${cfg.site.name ?? cfg.site.id}" is running.`,
          `  staff console:   ${gw.http.url}/console/ (alarms with sound; log in with a reader or admin account)`,
          `  ops:             ${gw.http.url}/healthz   metrics: ${gw.http.url}/metrics`,
          `  local broker:    mqtt://${tcp?.host}:${tcp?.port} (anonymous read-only in demo mode)`,
          `  watch events:    mosquitto_sub -h ${tcp?.host} -p ${tcp?.port} -t '${gw.root}/#' -v`,
          `  simulator:       ${sim.url}  (GET ${sim.url}/devices lists every simulated device)`,
          ...sim.examples.map((x) => `    ${x.family.padEnd(16)} curl -X POST ${sim.url}/devices/${x.device} -d '${x.change}'`),
          '  stop:            Ctrl-C',
          ...ports.notes.map((n) => `  note: ${n}`),
          '',
        ].join('\n'),
      );
      await runUntilSignal(gw, log, announce, () => sim.close());
      return 0;
    }
    case 'events': {
      const cfg = configOrExit(values.config ?? positionals[0]);
      const journal = new Journal(cfg.journal);
      try {
        const limit = values.limit ? Number(values.limit) : 100;
        if (!Number.isInteger(limit) || limit <= 0)
          throw new UsageError(`--limit must be a positive whole number, got "${values.limit}"`);
        const since = values.since ? parseSince(values.since) : undefined;
        // Without a time, what the installer wants is what just happened (as `tail`).
        const found = journal.query({ since, device: values.device, type: values.type, limit: limit + 1, newest: !since });
        const more = found.length > limit;
        const events = !more ? found : since ? found.slice(0, limit) : found.slice(1);
        for (const e of events) {
          if (values.json) console.log(JSON.stringify(e));
          else
            console.log(
              `${e.receivedAt}  #${e.seq}  ${e.severity.padEnd(8)} ${e.type.padEnd(22)} ${e.device.id.padEnd(20)} ${JSON.stringify(e.data)}`,
            );
        }
        if (!values.json) {
          const hint = !more ? '' : since ? `: the first ${limit} since ${since.toISOString()}, --limit N for more` : `: the newest ${limit}, --limit N or --since for more`;
          console.error(`${events.length} event${events.length === 1 ? '' : 's'}${hint}`);
        }
      } finally {
        journal.close();
      }
      return 0;
    }
    case 'outbox': {
      const cfg = configOrExit(values.config ?? positionals[0]);
      const audit = values.audit ? Number(values.audit) : 0;
      if (!Number.isInteger(audit) || audit < 0)
        throw new UsageError(`--audit must be a whole number, got "${values.audit}"`);
      const report = await outboxReport(cfg.journal.path, { sampleMs: 1000, audit });
      console.log(values.json ? JSON.stringify(report, null, 2) : formatOutboxReport(report));
      return 0;
    }
    case 'alarms': {
      const cfg = configOrExit(values.config ?? positionals[0]);
      const recent = values.limit ? Number(values.limit) : 0;
      if (!Number.isInteger(recent) || recent < 0)
        throw new UsageError(`--limit must be a whole number, got "${values.limit}"`);
      console.log(alarmsReport(cfg.journal, recent, !!values.json));
      return 0;
    }
    case 'rules':
      console.log(rulesReport(configOrExit(values.config ?? positionals[0]), !!values.json));
      return 0;
    case 'hash-password': {
      const plain = positionals[0] ?? readFileSync(0, 'utf8').replace(/\r?\n$/, '');
      if (!plain) throw new UsageError('empty password');
      console.log(hashPassword(plain));
      return 0;
    }
    default:
      throw new UsageError(`unknown command "${cmd}"`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof ConfigError) {
      console.error(`error: invalid configuration ${err.message}\nhint: ${err.hint}`);
      process.exitCode = 2;
    } else if (err instanceof GatewayError) {
      console.error(`error [${err.code}]: ${err.message}${err.hint ? `\nhint: ${err.hint}` : ''}`);
      process.exitCode = err.code === 'USAGE' ? 2 : 1;
    } else {
      console.error(`error: ${errorMessage(err)}`);
      process.exitCode = 1;
    }
  },
);
