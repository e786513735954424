/**
 * Finding Modbus units on one bus and guessing their model: for each unit id, one read of the
 * first block of the candidate models (a unit that answers anything, even a Modbus exception
 * (Modbus Application Protocol V1.1b3 §7), is there; one that stays silent past the timeout is
 * not), then, for a unit that is there, every candidate model whose blocks all read and whose
 * fields all decode (enumerations and status words within their values) fits. Candidates are
 * ranked by how much of the unit they read (registers and bits), so the most specific model comes
 * first. Bounded: one request per absent unit, one per block per candidate for a present one.
 */
import { ModbusBus } from './modbus-bus.js';
import { toModbusError } from './modbus-errors.js';
import type { ModbusTransport } from './modbus-transport.js';
import { type Block, readBlocks, readFields, type RegisterMap } from './register-map.js';

/** A model a unit may be: of which family, under which name, with its register map. */
export interface ModbusCandidate {
  readonly family: string;
  readonly model: string;
  readonly map: RegisterMap;
}

export interface FoundUnit {
  unitId: number;
  /** Models that fit, best first (empty: the unit answers, but like no known model). */
  fits: { family: string; model: string; registers: number }[];
  /** What the probe read got (data, or the exception the unit answered). */
  probe: string;
}

export interface ScanOptions {
  transport: ModbusTransport;
  /** Unit ids to try, 1..247 (Modbus over Serial Line V1.02 §2.2). */
  units: readonly number[];
  candidates: readonly ModbusCandidate[];
  /** Response timeout of one request, ms. */
  timeoutMs: number;
  /** Called after each unit id, e.g. to show progress. */
  onUnit?: (unitId: number, found: FoundUnit | undefined) => void;
}

const size = (map: RegisterMap) => Object.values(map.blocks).reduce((n, b: Block) => n + b.length, 0);

/** Scans the units of one bus; resolves with those that answered, in unit order. */
export async function scanModbus(o: ScanOptions): Promise<FoundUnit[]> {
  if (o.candidates.length === 0) throw new Error('no candidate models to probe with');
  const bus = new ModbusBus({
    transport: o.transport,
    timeoutMs: o.timeoutMs,
    backoff: { initialMs: 500, maxMs: 2000 },
    // A silent unit is expected here: never drop a TCP connection for timeouts.
    reconnectAfterTimeouts: Number.MAX_SAFE_INTEGER,
  });
  bus.start();
  try {
    await waitConnected(bus, Math.max(3000, 4 * o.timeoutMs));
    const probe = Object.values(o.candidates[0]!.map.blocks)[0]!;
    const found: FoundUnit[] = [];
    for (const unitId of o.units) {
      const hit = await probeUnit(bus, unitId, probe, o.candidates);
      if (hit) found.push(hit);
      o.onUnit?.(unitId, hit);
    }
    return found;
  } finally {
    await bus.close();
  }
}

function waitConnected(bus: ModbusBus, ms: number): Promise<void> {
  if (bus.connected) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      bus.off('connected', ok);
      reject(new Error(`cannot open ${bus.name} within ${ms} ms: check the port or address, and that nothing else holds it`));
    }, ms);
    const ok = () => {
      clearTimeout(timer);
      resolve();
    };
    bus.once('connected', ok);
  });
}

async function probeUnit(bus: ModbusBus, unitId: number, block: Block, candidates: readonly ModbusCandidate[]): Promise<FoundUnit | undefined> {
  let probe: string;
  try {
    const one = { blocks: { probe: block }, fields: {}, coils: {} } as RegisterMap;
    const data = (await readBlocks(bus, unitId, one)).probe!;
    probe = `${block.table} ${block.start}+${block.length}: ${data.slice(0, 8).map(Number).join(' ')}${data.length > 8 ? ' …' : ''}`;
  } catch (err) {
    const e = toModbusError(err, `unit ${unitId}`);
    // Exceptions 10 and 11 come from a TCP/RTU gateway with no unit behind it (§7).
    if (e.code !== 'MODBUS_EXCEPTION' || e.exceptionCode === 10 || e.exceptionCode === 11) return undefined;
    probe = e.message;
  }
  const fits: FoundUnit['fits'] = [];
  for (const c of candidates) {
    try {
      readFields(c.map, await readBlocks(bus, unitId, c.map));
      fits.push({ family: c.family, model: c.model, registers: size(c.map) });
    } catch {
      // a block it does not have, or values outside the model's: not this model
    }
  }
  fits.sort((a, b) => b.registers - a.registers);
  return { unitId, fits, probe };
}

/** Parses `1-247`, `1,3,5-9`: unit ids 1..247, each once, in order. */
export function parseUnits(text: string): number[] {
  const out = new Set<number>();
  for (const part of text.split(',')) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    const [a, b] = m ? [Number(m[1]), Number(m[2] ?? m[1])] : [NaN, NaN];
    if (!(a >= 1 && b <= 247 && a <= b)) throw new Error(`--units "${text}": give unit ids 1..247 as ranges and lists, e.g. 1-32 or 1,5,10-12`);
    for (let u = a; u <= b; u++) out.add(u);
  }
  return [...out].sort((x, y) => x - y);
}
