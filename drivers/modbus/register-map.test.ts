import { describe, expect, it } from 'vitest';
import { InvalidRegisters, readFields, RegisterMap, writeFields } from './register-map.js';

const MAP = RegisterMap.parse({
  blocks: {
    main: { table: 'holding', start: 100, length: 12 },
    relays: { table: 'coils', start: 0, length: 4 },
  },
  fields: {
    level: { block: 'main', offset: 0, scale: 0.1, unit: '%LEL' },
    temp: { block: 'main', offset: 1, type: 'int16', scale: 0.1, valueOffset: -40, unit: '°C' },
    countBig: { block: 'main', offset: 2, type: 'uint32' },
    countLittle: { block: 'main', offset: 4, type: 'uint32', wordOrder: 'little' },
    delta: { block: 'main', offset: 6, type: 'int32' },
    ppm: { block: 'main', offset: 8, type: 'float32', wordOrder: 'little' },
    status: { block: 'main', offset: 10, type: 'bits', bits: { fault: 0, high: 2, low: 1 }, none: 'normal' },
    mode: { block: 'main', offset: 11, values: { 0: 'auto', 1: 'manual' } },
    buzzer: { block: 'main', offset: 10, type: 'bool', bit: 15 },
    valve: { block: 'relays', offset: 2, type: 'bool' },
  },
  coils: { valve: { address: 2 } },
});

// float32 12.5 = 0x41480000; little word order puts 0x0000 first.
const WORDS = [123, 650, 0x0001, 0x0002, 0x0002, 0x0001, 0xffff, 0xfffe, 0x0000, 0x4148, 0x8006, 0x0001];

describe('register maps', () => {
  it('decodes every type, both word orders, negatives, scale and offset, bits, enumerations', () => {
    expect(readFields(MAP, { main: WORDS, relays: [false, false, true, false] })).toEqual({
      level: 12.3,
      temp: 25,
      countBig: 65538,
      countLittle: 65538,
      delta: -2,
      ppm: 12.5,
      status: 'high',
      'status.fault': false,
      'status.high': true,
      'status.low': true,
      mode: 'manual',
      buzzer: true,
      valve: true,
    });
  });

  it('reads a negative int16 and no status bit as `none`', () => {
    const words = [...WORDS];
    words[1] = 0xff9c; // -100 × 0.1 - 40
    words[10] = 0;
    words[11] = 0;
    const v = readFields(MAP, { main: words, relays: [false, false, false, false] });
    expect([v.temp, v.status, v.mode, v.buzzer]).toEqual([-50, 'normal', 'auto', false]);
  });

  it.each([
    ['NaN', [0x7fc0, 0x0000], /float32 is NaN/],
    ['+Infinity', [0x7f80, 0x0000], /float32 is Infinity/],
    ['-Infinity', [0xff80, 0x0000], /float32 is -Infinity/],
  ])('refuses a float32 %s as invalid', (_n, [hi, lo], reason) => {
    const words = [...WORDS];
    words[8] = lo!; // little word order: low word first
    words[9] = hi!;
    expect(() => readFields(MAP, { main: words, relays: [false, false, false, false] })).toThrow(reason);
  });

  it('refuses an enumeration value not listed, a short block and non-16-bit words', () => {
    const relays = [false, false, false, false];
    const words = [...WORDS];
    words[11] = 7;
    expect(() => readFields(MAP, { main: words, relays })).toThrow(/field mode: raw value 7 is not one of the listed values \(0, 1\)/);
    expect(() => readFields(MAP, { main: WORDS.slice(0, 5), relays })).toThrow(/block main: expected 12 registers, got 5/);
    expect(() => readFields(MAP, { main: WORDS.map((w) => w + 0.5), relays })).toThrow(InvalidRegisters);
    expect(() => readFields(MAP, { main: WORDS })).toThrow(/block relays: expected 4 bits, got 0/);
  });

  it('encodes what it decodes (the simulators serve a map with writeFields)', () => {
    const values = readFields(MAP, { main: WORDS, relays: [false, false, true, false] });
    const blocks = writeFields(MAP, values);
    expect(readFields(MAP, blocks)).toEqual({ ...values, 'status.low': false });
    expect(blocks.main!.slice(0, 10)).toEqual(WORDS.slice(0, 10)); // a bits field: its named state only
  });

  it('refuses a field outside its block, with the path to the field', () => {
    const r = RegisterMap.safeParse({
      blocks: { main: { table: 'holding', start: 0, length: 4 } },
      fields: { lel: { block: 'main', offset: 3, type: 'float32' } },
    });
    expect(r.error?.issues).toEqual([
      expect.objectContaining({
        path: ['fields', 'lel', 'offset'],
        message: expect.stringMatching(/field lel: offset 3 \(2 registers\) lies outside block main, which holds 4 \(offsets 0\.\.3\)/),
      }),
    ]);
  });

  it.each([
    [{ main: { table: 'holding', start: 0, length: 126 } }, {}, ['blocks', 'main', 'length'], /at most 125 registers/],
    [{ main: { table: 'coils', start: 0, length: 2001 } }, {}, ['blocks', 'main', 'length'], /2000/],
    [{}, {}, ['blocks'], /at least one block/],
    [{ m: { table: 'input', start: 0, length: 2 } }, { x: { block: 'n', offset: 0 } }, ['fields', 'x', 'block'], /no block "n"; blocks: m/],
    [{ m: { table: 'input', start: 0, length: 2 } }, { x: { block: 'm', offset: 0, type: 'uint64' } }, ['fields', 'x', 'type'], /uint16/],
    [{ m: { table: 'input', start: 0, length: 2 } }, { x: { block: 'm', offset: 0, type: 'bool' } }, ['fields', 'x', 'bit'], /needs bit/],
    [{ m: { table: 'discrete', start: 0, length: 2 } }, { x: { block: 'm', offset: 0 } }, ['fields', 'x', 'type'], /only type bool/],
    [{ m: { table: 'input', start: 0, length: 2 } }, { x: { block: 'm', offset: 0, type: 'bits' } }, ['fields', 'x', 'bits'], /needs bits/],
    [{ m: { table: 'input', start: 0, length: 2 } }, { x: { block: 'm', offset: 0, type: 'float32', values: { 1: 'a' } } }, ['fields', 'x', 'values'], /integer type/],
    [{ m: { table: 'input', start: 0, length: 2 } }, { x: { block: 'm', offset: 0, scale: 0 } }, ['fields', 'x', 'scale'], /other than 0/],
  ])('refuses a broken map with its path (%#)', (blocks, fields, path, message) => {
    const issues = RegisterMap.safeParse({ blocks, fields }).error?.issues ?? [];
    expect(issues.map((i) => [i.path, i.message])).toContainEqual([path, expect.stringMatching(message)]);
  });
});
