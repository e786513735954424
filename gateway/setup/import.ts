/**
 * `gateway import devices.csv|.xlsx [--into site.yaml] [--out file] [--line NAME=/dev/ttyUSB0]`:
 * a device list becomes the `drivers:` section of a site file, one driver instance per family
 * and line, the devices under it. Every problem is reported with its row number (header = row 1)
 * and column, and then nothing is written.
 *
 * A line is, in this order: the id of a driver instance of the family in the site file the
 * devices go into (or the id an earlier import made of the line's name); a name given a bus with `--line NAME=/dev/ttyUSB0` or `NAME=host:port`; a
 * serial device (`/dev/ttyUSB0`: Modbus RTU 9600 8N1) or `host:port` / an IPv4 address (Modbus
 * TCP, port 502); for families without a bus (LoRaWAN, smart bins), any name (a new instance).
 */
import { Document, isMap, isSeq, parseDocument, type YAMLMap, type YAMLSeq } from 'yaml';
import { ConfigError, type ConfigProblem, validateConfig } from '../../config/load.js';
import { DEFINITIONS } from '../../drivers/index.js';
import type { Column, DeviceList, ListRow } from './device-list.js';
import { type ImportFamily, importFamily } from './import-families.js';

export interface ImportOptions {
  /** The device list's file name, for messages. */
  list: string;
  /** The site file the devices go into (already checked), and its text. */
  into?: { file: string; text: string };
  /** Names of buses: RS485-1 → /dev/ttyUSB0 or 192.168.1.20:502. */
  lines?: Readonly<Record<string, string>>;
}

export interface ImportResult {
  /** The site file with the devices added (or, without `into`, a `drivers:` section). */
  text: string;
  devices: number;
  drivers: { id: string; family: string; devices: number; created: boolean }[];
}

type Raw = Record<string, unknown>;
interface Target {
  family: string;
  id: string;
  line: string;
  /** Index in the site file's drivers list, or undefined for a new instance. */
  existing?: number;
  transport?: Raw;
  rows: ListRow[];
  devices: Raw[];
}

const FIELD_COLUMN: Readonly<Record<string, Column>> = { id: 'id', name: 'name', building: 'building', zone: 'zone', model: 'model' };
const HINT = 'fix the rows above in the device list and import again; nothing was written';

export function importDevices(list: DeviceList, opts: ImportOptions): ImportResult {
  const problems: ConfigProblem[] = list.problems.map((message) => ({ path: '', message }));
  const at = (r: ListRow, col: Column, message: string) => problems.push({ path: `row ${r.row}, column ${col}`, message });
  const doc = opts.into ? parseDocument(opts.into.text) : new Document({});
  const data = (doc.toJS() ?? {}) as Raw;
  const drivers = Array.isArray(data.drivers) ? (data.drivers as Raw[]) : [];
  const taken = new Map<string, string>(); // device id → where it is
  drivers.forEach((d) => {
    for (const dev of Array.isArray(d.devices) ? (d.devices as Raw[]) : []) taken.set(String(dev.id), `in ${opts.into?.file}, driver ${String(d.id)}`);
  });
  const targets = new Map<string, Target>();
  const known = DEFINITIONS.map((d) => d.family);
  const importable = DEFINITIONS.filter((d) => importFamily(d)).map((d) => d.family);

  for (const r of list.rows) {
    const c = r.cells;
    const before = problems.length;
    for (const col of ['id', 'family', 'building', 'line'] as const) {
      if (!c[col]) at(r, col, `missing ${col === 'line' ? 'line (the bus or driver instance the device is on)' : col}`);
    }
    if (c.id) {
      const other = taken.get(c.id);
      if (other) at(r, 'id', `duplicate id "${c.id}" (also ${other}): every device needs its own id`);
      else taken.set(c.id, `row ${r.row}`);
    }
    const def = DEFINITIONS.find((d) => d.family === c.family);
    const fam = def && importFamily(def);
    if (c.family && !def) at(r, 'family', `unknown family "${c.family}"; known families: ${known.join(', ')}`);
    else if (c.family && !fam)
      at(r, 'family', `${c.family} devices cannot be imported from a list (they need credentials or wiring per channel); write them in the site file; importable: ${importable.join(', ')}`);
    if (!fam || !c.family) continue;
    const device: Raw = { id: c.id, ...(c.name && { name: c.name }), building: c.building, ...(c.zone && { zone: c.zone }) };
    if (c.model && !fam.model) at(r, 'model', `${c.family} devices have no model: leave the column empty`);
    else if (c.model) device.model = c.model;
    addressOf(r, c.family, fam, device, at);
    const target = c.line ? targetOf(r, c.family, fam, c.line, drivers, targets, opts, at) : undefined;
    if (problems.length > before || !target) continue;
    target.rows.push(r);
    target.devices.push(device);
  }

  // The whole site file with the new devices is checked as check-config checks it.
  const merged: Raw[] = structuredClone(drivers);
  const rowAt = new Map<string, ListRow>();
  const targetOfDriver = new Map<number, Target>();
  for (const t of targets.values()) {
    let k = t.existing;
    if (k === undefined) {
      k = merged.push({ family: t.family, id: t.id, ...(t.transport && { transport: t.transport }), devices: [] }) - 1;
    }
    const devices = ((merged[k]!.devices as Raw[] | undefined) ??= []);
    t.devices.forEach((d, i) => rowAt.set(`${k}/${devices.length + i}`, t.rows[i]!));
    devices.push(...t.devices);
    targetOfDriver.set(k, t);
  }
  const site = opts.into ? data : { site: { id: 'import' }, gateway: { id: 'import' } };
  const checked = validateConfig({ ...site, drivers: merged });
  if (!checked.ok) {
    for (const p of checked.problems) {
      const m = /^drivers\[(\d+)\](?:\.devices\[(\d+)\](?:\.(\w+))?)?/.exec(p.path);
      const row = m?.[2] === undefined ? undefined : rowAt.get(`${m[1]}/${m[2]}`);
      const t = m ? targetOfDriver.get(Number(m[1])) : undefined;
      if (row) {
        const fam = importFamily(DEFINITIONS.find((d) => d.family === t!.family)!)!;
        const col = m![3] === fam.address?.field ? 'address' : FIELD_COLUMN[m![3] ?? ''];
        problems.push({ path: `row ${row.row}${col ? `, column ${col}` : ''}`, message: p.message });
      } else if (t) {
        problems.push({ path: `line "${t.line}" (rows ${t.rows.map((r) => r.row).join(', ')})`, message: `${p.path}: ${p.message}` });
      } else problems.push(p);
    }
  }
  if (problems.length) {
    const rowNo = (p: ConfigProblem) => Number(/^row (\d+)/.exec(p.path)?.[1] ?? 0);
    throw new ConfigError(opts.list, problems.sort((a, b) => rowNo(a) - rowNo(b)), HINT);
  }
  return { text: write(doc, targets), devices: [...targets.values()].reduce((n, t) => n + t.devices.length, 0), drivers: summary(targets) };
}

function addressOf(r: ListRow, family: string, fam: ImportFamily, device: Raw, at: (r: ListRow, c: Column, m: string) => void): void {
  const a = fam.address;
  const v = r.cells.address;
  if (!a) {
    if (v) at(r, 'address', `${family} devices have no address: leave the column empty`);
    return;
  }
  if (!v) {
    if (a.required) at(r, 'address', `missing address: ${a.what}`);
    return;
  }
  if (a.kind === 'unitId') {
    const n = Number(v);
    if (!/^\d+$/.test(v) || n < 1 || n > 247) at(r, 'address', `bad Modbus unit "${v}": ${a.what}`);
    else device[a.field] = n;
  } else device[a.field] = v;
}

/** A line's Modbus transport: a serial device or host:port / IPv4 address; undefined for a name. */
export function modbusTransport(line: string): Raw | undefined {
  if (line.startsWith('/dev/')) return { type: 'rtu', path: line };
  const m = /^([A-Za-z0-9.-]*[A-Za-z0-9]|\[[0-9A-Fa-f:]+\]):(\d{1,5})$/.exec(line);
  if (m && Number(m[2]) >= 1 && Number(m[2]) <= 65535) return { type: 'tcp', host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) };
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(line)) return { type: 'tcp', host: line, port: 502 };
  return undefined;
}

const transportKey = (t: unknown): string | undefined => {
  const x = (t ?? {}) as Raw;
  if (x.type === 'rtu') return `rtu ${String(x.path)}`;
  if (x.type === 'tcp') return `tcp ${String(x.host ?? '127.0.0.1')}:${String(x.port ?? 502)}`;
  return undefined;
};

const slug = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');

function targetOf(
  r: ListRow,
  family: string,
  fam: ImportFamily,
  line: string,
  drivers: readonly Raw[],
  targets: Map<string, Target>,
  opts: ImportOptions,
  at: (r: ListRow, c: Column, m: string) => void,
): Target | undefined {
  // The line's own name, or the id an earlier import made of it.
  let byId = drivers.findIndex((d) => d.id === line);
  if (byId < 0) byId = drivers.findIndex((d) => d.family === family && d.id === `${family}-${slug(line) || 'line'}`);
  if (byId >= 0 && drivers[byId]!.family !== family) {
    at(r, 'line', `"${line}" is a ${String(drivers[byId]!.family)} driver instance in ${opts.into?.file}, not ${family}`);
    return undefined;
  }
  let transport: Raw | undefined;
  if (byId < 0 && fam.instance === 'modbus') {
    transport = modbusTransport(opts.lines?.[line] ?? line);
    if (!transport) {
      at(r, 'line', `"${line}" is neither a driver instance of ${opts.into?.file ?? 'the site file (--into)'}, a serial device (/dev/ttyUSB0) nor host:port: name its bus with --line ${line}=/dev/ttyUSB0`);
      return undefined;
    }
  }
  const key = transport ? transportKey(transport)! : byId >= 0 ? `id ${line}` : `name ${line}`;
  let existing: number | undefined = byId >= 0 ? byId : undefined;
  if (existing === undefined && transport) {
    const same = drivers.findIndex((d) => d.family === family && transportKey(d.transport) === key);
    if (same >= 0) existing = same;
  }
  const full = `${family} ${existing !== undefined ? `#${existing}` : key}`;
  let t = targets.get(full);
  if (!t) {
    const id = existing !== undefined ? String(drivers[existing]!.id) : `${family}-${slug(line) || 'line'}`;
    t = { family, id, line, existing, transport: existing === undefined ? transport : undefined, rows: [], devices: [] };
    targets.set(full, t);
  }
  return t;
}

function write(doc: Document, targets: Map<string, Target>): string {
  if (!isSeq(doc.get('drivers'))) doc.set('drivers', doc.createNode([]));
  const list = doc.get('drivers') as YAMLSeq;
  list.flow = false; // `drivers: []` of a new site file becomes a block list
  const flow = (d: Raw) => doc.createNode(d, { flow: true });
  for (const t of targets.values()) {
    if (t.existing !== undefined) {
      const entry = list.items[t.existing];
      if (!isMap(entry)) continue;
      if (!isSeq(entry.get('devices'))) entry.set('devices', doc.createNode([]));
      for (const d of t.devices) (entry.get('devices') as YAMLSeq).add(flow(d));
    } else {
      const entry = doc.createNode({ family: t.family, id: t.id, ...(t.transport && { transport: t.transport }) }) as YAMLMap;
      if (t.transport) (entry.get('transport', true) as unknown as YAMLMap).flow = true;
      entry.set('devices', doc.createNode(t.devices.map(flow)));
      list.add(entry);
    }
  }
  return doc.toString({ lineWidth: 0 });
}

function summary(targets: Map<string, Target>): ImportResult['drivers'] {
  return [...targets.values()].map((t) => ({ id: t.id, family: t.family, devices: t.devices.length, created: t.existing === undefined }));
}
