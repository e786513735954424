/**
 * Modbus device maps as data: which blocks of a device to read (one request each), the fields
 * in them (data type, word order, scale, unit, status bits, enumerations) and the named coils.
 * Shared by every Modbus family; a site file describes a device the code does not ship with the
 * same format. Tables and limits: Modbus Application Protocol V1.1b3 §6.1-§6.4.
 *
 *   blocks: { main: { table: holding, start: 0, length: 6 } }
 *   fields:
 *     lel:    { block: main, offset: 0, type: float32, wordOrder: little, unit: "%LEL" }
 *     status: { block: main, offset: 2, type: bits, bits: { fault: 0, high: 2, low: 1 }, none: normal }
 *   coils: { valve: { address: 0 } }
 */
import { z } from 'zod';

const Name = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_-]{0,63}$/, 'a name: a letter, then letters, digits, "_" or "-" (at most 64)');
/** A PDU address, 0-based (Modbus Application Protocol V1.1b3 §4.4). */
export const Address = z.number().int().min(0).max(65_535);

/** `holding` FC3, `input` FC4: 16-bit registers; `coils` FC1, `discrete` FC2: bits. */
export const TABLES = ['holding', 'input', 'coils', 'discrete'] as const;
export type Table = (typeof TABLES)[number];
export const isBitTable = (t: Table) => t === 'coils' || t === 'discrete';
/** Most registers / bits one read request may ask for (§6.1-§6.4). */
const MAX_REGISTERS = 125;
const MAX_BITS = 2000;

export const Block = z
  .strictObject({
    table: z.enum(TABLES),
    /** PDU address of the first register or bit, 0-based (reference 40001 / 30001 / 00001 / 10001 = address 0). */
    start: Address,
    /** Registers (≤ 125) or bits (≤ 2000) read with one request. */
    length: z.number().int().min(1).max(MAX_BITS),
  })
  .refine((b) => isBitTable(b.table) || b.length <= MAX_REGISTERS, {
    message: `a register block holds at most ${MAX_REGISTERS} registers (one read request); split it in two blocks`,
    path: ['length'],
  })
  .refine((b) => b.start + b.length <= 65_536, { message: 'the block runs past address 65535', path: ['length'] });
export type Block = z.infer<typeof Block>;

export const NUMBER_TYPES = ['uint16', 'int16', 'uint32', 'int32', 'float32'] as const;
export const FIELD_TYPES = [...NUMBER_TYPES, 'bool', 'bits'] as const;
export type FieldType = (typeof FIELD_TYPES)[number];
const isNumberType = (t: FieldType) => (NUMBER_TYPES as readonly string[]).includes(t);
/** Registers a field of this type spans. */
export const widthOf = (t: FieldType) => (t === 'uint32' || t === 'int32' || t === 'float32' ? 2 : 1);

export const Field = z.strictObject({
  /** Name of the block (under `blocks:`) the field lives in. */
  block: Name,
  /** Position of the field's first register (or bit) in its block, 0 = the block's start. */
  offset: z.number().int().min(0).max(MAX_BITS - 1),
  /**
   * uint16/int16: one register; uint32/int32/float32 (IEEE 754): two registers; bool: one bit
   * (a coil or discrete input, or bit `bit` of a register); bits: named bits of a status register.
   */
  type: z.enum(FIELD_TYPES).default('uint16'),
  /** 32-bit values: `big` = high word first (the Modbus convention), `little` = low word first. */
  wordOrder: z.enum(['big', 'little']).default('big'),
  /** value = raw × scale + valueOffset. */
  scale: z.number().refine((s) => Number.isFinite(s) && s !== 0, 'scale must be a finite number other than 0').default(1),
  valueOffset: z.number().default(0),
  unit: z.string().optional(),
  /** bool in a register: the bit, 0 = least significant. */
  bit: z.number().int().min(0).max(15).optional(),
  /**
   * bits: name → bit (0 = least significant). The field's value is the name of the first set bit
   * in the order listed (list the most important first), else `none`; each bit is also the
   * boolean `<field>.<name>`.
   */
  bits: z.record(Name, z.number().int().min(0).max(15)).optional(),
  /** bits: the value when none of the listed bits is set (default "none"). */
  none: Name.optional(),
  /** Enumeration of an integer field: raw value → name (the value); a raw value not listed is invalid. */
  values: z.record(z.string().regex(/^-?\d+$/, 'a raw value: an integer'), Name).optional(),
});
export type Field = z.infer<typeof Field>;

export const Coil = z.strictObject({
  /** PDU address of the coil: written with FC5 (§6.5), read back with FC1 (§6.1). */
  address: Address,
  /** false: read-only (a status coil); commands may not write it. */
  writable: z.boolean().default(true),
});
export type Coil = z.infer<typeof Coil>;

export const RegisterMap = z
  .strictObject({
    description: z.string().optional(),
    blocks: z.record(Name, Block).refine((b) => Object.keys(b).length > 0, 'at least one block to read'),
    fields: z.record(Name, Field),
    coils: z.record(Name, Coil).default({}),
  })
  .superRefine(checkFields);
export type RegisterMap = z.infer<typeof RegisterMap>;

/** Cross-checks of each field against its block and type, each with the field's path. */
function checkFields(map: RegisterMap, ctx: z.RefinementCtx): void {
  const issue = (name: string, key: string, message: string) =>
    ctx.addIssue({ code: 'custom', path: ['fields', name, key], message: `field ${name}: ${message}` });
  for (const [name, f] of Object.entries(map.fields)) {
    const block = map.blocks[f.block];
    if (!block || !Object.hasOwn(map.blocks, f.block)) {
      issue(name, 'block', `no block "${f.block}"; blocks: ${Object.keys(map.blocks).join(', ')}`);
      continue;
    }
    const bitTable = isBitTable(block.table);
    if (bitTable && f.type !== 'bool') {
      issue(name, 'type', `block ${f.block} reads ${block.table} (bits): only type bool fits there`);
      continue;
    }
    const width = bitTable ? 1 : widthOf(f.type);
    if (f.offset + width > block.length) {
      const what = bitTable ? 'bit' : width === 2 ? 'registers' : 'register';
      issue(
        name,
        'offset',
        `offset ${f.offset} (${width} ${what}) lies outside block ${f.block}, which holds ${block.length} (offsets 0..${block.length - 1}); fix the offset or make the block longer`,
      );
    }
    if (f.type === 'bool' && !bitTable && f.bit === undefined) {
      issue(name, 'bit', `a bool in the ${block.table} register block ${f.block} needs bit: 0..15`);
    }
    if (f.bit !== undefined && (f.type !== 'bool' || bitTable)) {
      issue(name, 'bit', 'bit is only for a bool field in a register block (use type: bits for several)');
    }
    if ((f.type === 'bits') !== (f.bits !== undefined)) {
      issue(name, 'bits', f.type === 'bits' ? 'type bits needs bits: { name: bit, ... }' : 'bits is only for type: bits');
    }
    if (f.values !== undefined && !(isNumberType(f.type) && f.type !== 'float32')) {
      issue(name, 'values', 'values (an enumeration) is only for an integer type (uint16, int16, uint32, int32)');
    }
  }
}

export type Blocks = Readonly<Record<string, readonly number[] | readonly boolean[]>>;
export type FieldValue = number | boolean | string;
export type FieldValues = Record<string, FieldValue>;

/** What a device answered does not fit its map: the reading is refused, nothing of it used. */
export class InvalidRegisters extends Error {
  override readonly name = 'InvalidRegisters';
}

/** Two registers as one 32-bit value (reused: decoding allocates nothing). */
const WORDS = new DataView(new ArrayBuffer(4));

/** Rounds away binary noise of scaling (0.1 × 123 = 12.3, not 12.300000000000001). */
const round = (v: number) => Math.round(v * 1e6) / 1e6;

/** A map's blocks and fields as lists, made once per map (a poll decodes without building them). */
const LISTS = new WeakMap<RegisterMap, { blocks: [string, Block][]; fields: [string, Field][] }>();
function listsOf(map: RegisterMap) {
  let lists = LISTS.get(map);
  if (!lists) LISTS.set(map, (lists = { blocks: Object.entries(map.blocks), fields: Object.entries(map.fields) }));
  return lists;
}

/** Decodes every field of `map` from the blocks read (block name → registers or bits). */
export function readFields(map: RegisterMap, blocks: Blocks): FieldValues {
  const lists = listsOf(map);
  for (const [name, b] of lists.blocks) checkBlock(name, b, blocks[name]);
  const out: FieldValues = {};
  for (const [name, f] of lists.fields) {
    const block = map.blocks[f.block]!;
    const data = blocks[f.block]!;
    if (isBitTable(block.table)) {
      out[name] = data[f.offset] as boolean;
      continue;
    }
    const w0 = data[f.offset] as number;
    if (f.type === 'bool') out[name] = ((w0 >> (f.bit ?? 0)) & 1) === 1;
    else if (f.type === 'bits') Object.assign(out, decodeBits(name, f, w0));
    else out[name] = decodeNumber(name, f, w0, data[f.offset + 1] as number);
  }
  return out;
}

function checkBlock(name: string, block: Block, data: readonly (number | boolean)[] | undefined): void {
  if (!data || data.length < block.length) {
    throw new InvalidRegisters(`block ${name}: expected ${block.length} ${isBitTable(block.table) ? 'bits' : 'registers'}, got ${data?.length ?? 0}`);
  }
  const ok = isBitTable(block.table)
    ? data.every((v) => typeof v === 'boolean')
    : data.every((v) => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 0xffff);
  if (!ok) throw new InvalidRegisters(`block ${name}: ${isBitTable(block.table) ? 'bits must be booleans' : 'register words must be integers 0..65535'}`);
}

function decodeBits(name: string, f: Field, word: number): FieldValues {
  const out: FieldValues = {};
  let first: string | undefined;
  for (const [bitName, bit] of Object.entries(f.bits ?? {})) {
    const set = ((word >> bit) & 1) === 1;
    out[`${name}.${bitName}`] = set;
    if (set) first ??= bitName;
  }
  out[name] = first ?? f.none ?? 'none';
  return out;
}

function decodeNumber(name: string, f: Field, w0: number, w1: number): FieldValue {
  const [hi, lo] = f.wordOrder === 'big' ? [w0, w1] : [w1, w0];
  let raw: number;
  if (f.type === 'uint16') raw = w0;
  else if (f.type === 'int16') raw = (w0 << 16) >> 16;
  else if (f.type === 'uint32') raw = hi * 0x10000 + lo;
  else if (f.type === 'int32') raw = ((hi << 16) | lo) | 0;
  else {
    // IEEE 754 binary32, high word first once the word order is applied.
    WORDS.setUint16(0, hi);
    WORDS.setUint16(2, lo);
    raw = WORDS.getFloat32(0);
  }
  if (!Number.isFinite(raw)) throw new InvalidRegisters(`field ${name}: float32 is ${raw} (not a number the device may report)`);
  if (f.values) {
    const named = Object.hasOwn(f.values, String(raw)) ? f.values[String(raw)] : undefined;
    if (named === undefined) {
      throw new InvalidRegisters(`field ${name}: raw value ${raw} is not one of the listed values (${Object.keys(f.values).join(', ')})`);
    }
    return named;
  }
  return round(raw * f.scale + f.valueOffset);
}

/**
 * The blocks a device with these field values answers: the inverse of `readFields`, for
 * simulators. Fields not given read 0 / false; a bits field given by name sets that bit.
 */
export function writeFields(map: RegisterMap, values: Readonly<Record<string, FieldValue>>): Record<string, number[] | boolean[]> {
  const out: Record<string, number[] | boolean[]> = {};
  for (const [name, b] of Object.entries(map.blocks)) {
    out[name] = isBitTable(b.table) ? new Array<boolean>(b.length).fill(false) : new Array<number>(b.length).fill(0);
  }
  for (const [name, f] of Object.entries(map.fields)) {
    const v = values[name];
    if (v === undefined) continue;
    const data = out[f.block]!;
    if (isBitTable(map.blocks[f.block]!.table)) data[f.offset] = v === true;
    else if (f.type === 'bool') data[f.offset] = ((data[f.offset] as number) & ~(1 << f.bit!)) | (v === true ? 1 << f.bit! : 0);
    else if (f.type === 'bits') data[f.offset] = typeof v === 'string' && f.bits && Object.hasOwn(f.bits, v) ? 1 << f.bits[v]! : 0;
    else (data as number[]).splice(f.offset, widthOf(f.type), ...encodeNumber(name, f, v));
  }
  return out;
}

function encodeNumber(name: string, f: Field, v: FieldValue): number[] {
  let raw: number;
  if (f.values) {
    const hit = Object.entries(f.values).find(([, n]) => n === v);
    if (!hit) throw new RangeError(`field ${name}: "${String(v)}" is not one of ${Object.values(f.values).join(', ')}`);
    raw = Number(hit[0]);
  } else raw = (Number(v) - f.valueOffset) / f.scale;
  const buf = Buffer.alloc(4);
  const clamp = (lo: number, hi: number) => Math.max(lo, Math.min(hi, Math.round(raw)));
  if (f.type === 'uint16') return [clamp(0, 0xffff)];
  if (f.type === 'int16') return [clamp(-0x8000, 0x7fff) & 0xffff];
  if (f.type === 'uint32') buf.writeUInt32BE(clamp(0, 0xffffffff));
  else if (f.type === 'int32') buf.writeInt32BE(clamp(-0x80000000, 0x7fffffff));
  else buf.writeFloatBE(raw);
  const words = [buf.readUInt16BE(0), buf.readUInt16BE(2)];
  return f.wordOrder === 'big' ? words : words.reverse();
}

/** The reads a device with this map needs: one request per block. */
export interface BlockReader {
  readHolding(unitId: number, address: number, length: number): Promise<number[]>;
  readInput(unitId: number, address: number, length: number): Promise<number[]>;
  readCoils(unitId: number, address: number, length: number): Promise<boolean[]>;
  readDiscreteInputs(unitId: number, address: number, length: number): Promise<boolean[]>;
}

/** Reads every block of `map` from one unit, one request per block, in the order listed. */
export async function readBlocks(bus: BlockReader, unitId: number, map: RegisterMap): Promise<Record<string, number[] | boolean[]>> {
  const out: Record<string, number[] | boolean[]> = {};
  for (const [name, b] of Object.entries(map.blocks)) {
    const read = {
      holding: () => bus.readHolding(unitId, b.start, b.length),
      input: () => bus.readInput(unitId, b.start, b.length),
      coils: () => bus.readCoils(unitId, b.start, b.length),
      discrete: () => bus.readDiscreteInputs(unitId, b.start, b.length),
    }[b.table];
    out[name] = await read();
  }
  return out;
}
