/** The installer's commands of the `gateway` command line: init, import, backup, restore. */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { loadConfig } from '../../config/load.js';
import { errorMessage, GatewayError } from '../core/errors.js';
import { backup, restore } from './backup.js';
import { readDeviceList } from './device-list.js';
import { importDevices } from './import.js';
import { initSite } from './init.js';

export const SETUP_USAGE = `  gateway init [--site-id ID] [--name N] [--lat 31.23 --lon 121.47] [--timezone Asia/Shanghai]
               [--city-broker mqtts://host:8883] [--admin-user ops] [--reader-user console] [--out site.yaml]
                                         write a first, commented site file (asks on a terminal for what is
                                         missing; else reads the admin's then the reader's password from stdin)
  gateway import <devices.csv|.xlsx> [--into site.yaml] [--out FILE] [--line NAME=/dev/ttyUSB0|host:port]...
                                         a device list becomes driver instances and devices; every bad row is
                                         listed (exit 2) and nothing is written
  gateway backup --config <site.yaml> [--out FILE.tar.gz]
                                         the database (online, while the gateway runs) and the site file in one archive
  gateway restore --config <site.yaml> <FILE.tar.gz>
                                         put a backup back (the gateway stopped; the old database is kept as *.before-restore)`;

const usage = (message: string) => new GatewayError('USAGE', message, 'run `gateway --help`');

function args<const T extends ParseArgsConfig>(config: T) {
  try {
    return parseArgs(config);
  } catch (err) {
    throw usage(errorMessage(err));
  }
}

async function runInit(argv: string[]): Promise<number> {
  const s = { type: 'string' } as const;
  const options = {
    'site-id': s, name: s, lat: s, lon: s, timezone: s, 'city-broker': s, 'gateway-id': s, journal: s,
    'admin-user': s, 'reader-user': s, out: s, force: { type: 'boolean' },
  } as const;
  const { values } = args({ args: argv, options });
  const out = await initSite(values);
  console.log(`${out}: written; check it with \`gateway check-config ${out}\`, add devices with \`gateway import devices.csv --into ${out}\``);
  return 0;
}

async function runImport(argv: string[]): Promise<number> {
  const { values, positionals } = args({ args: argv, allowPositionals: true, options: { into: { type: 'string' }, out: { type: 'string' }, line: { type: 'string', multiple: true } } });
  const file = positionals[0];
  if (!file) throw usage('import: give the device list (a .csv or .xlsx file)');
  const lines: Record<string, string> = {};
  for (const l of values.line ?? []) {
    const i = l.indexOf('=');
    if (i <= 0) throw usage(`--line ${l}: write NAME=/dev/ttyUSB0 or NAME=host:port`);
    lines[l.slice(0, i)] = l.slice(i + 1);
  }
  if (values.into) loadConfig(values.into); // the site file must be valid before devices are added to it
  let list;
  try {
    list = await readDeviceList(file);
  } catch (err) {
    throw usage(`cannot read ${file}: ${errorMessage(err)}`);
  }
  const into = values.into ? { file: values.into, text: readFileSync(values.into, 'utf8') } : undefined;
  const result = importDevices(list, { list: file, into, lines });
  const out = values.out ?? values.into;
  if (out) writeFileSync(out, result.text);
  else process.stdout.write(result.text);
  const report = result.drivers.map((d) => `  ${d.id} (${d.family}): ${d.devices} device${d.devices === 1 ? '' : 's'}${d.created ? ', new driver instance' : ''}`);
  console.error(`${file}: ${result.devices} devices imported${out ? ` into ${out}` : ''}\n${report.join('\n')}`);
  return 0;
}

async function runBackup(argv: string[]): Promise<number> {
  const { values } = args({ args: argv, options: { config: { type: 'string', short: 'c' }, out: { type: 'string' } } });
  if (!values.config) throw usage('backup: missing --config <site.yaml>');
  const cfg = loadConfig(values.config);
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
  const out = values.out ?? `${cfg.site.id}-${cfg.gateway.id}-${stamp}.tar.gz`;
  const m = await backup(cfg, values.config, out);
  console.log(`${out}: backup of ${m.site}/${m.gateway} (database schema ${m.schemaVersion}, release ${m.release})`);
  return 0;
}

async function runRestore(argv: string[]): Promise<number> {
  const { values, positionals } = args({ args: argv, allowPositionals: true, options: { config: { type: 'string', short: 'c' } } });
  if (!values.config || !positionals[0]) throw usage('restore: give --config <site.yaml> and the backup file');
  const cfg = loadConfig(values.config);
  const r = await restore(cfg, values.config, positionals[0]);
  const m = r.manifest;
  console.log(
    [
      `${cfg.journal.path}: restored from ${positionals[0]} (${m.site}/${m.gateway}, taken ${m.createdAt} by release ${m.release}, database schema ${m.schemaVersion})`,
      ...(m.site !== cfg.site.id ? [`warning: the backup is of site "${m.site}", this site file is "${cfg.site.id}"`] : []),
      r.before ? `the database it replaced: ${r.before} (and its -wal file, if any)` : 'there was no database before',
      ...(r.siteFromBackup ? [`the backup's site file differs from ${values.config}: it is in ${r.siteFromBackup}`] : []),
      'start the gateway: a database of an older release is brought up to date as it opens',
    ].join('\n'),
  );
  return 0;
}

/** `gateway <name> …` of the installer's commands. */
export const SETUP_COMMANDS: Readonly<Record<string, (argv: string[]) => Promise<number>>> = {
  init: runInit,
  import: runImport,
  backup: runBackup,
  restore: runRestore,
};
