import { describe, expect, it } from 'vitest';
import { GasModel } from '../../drivers/gas-detector/models.js';
import { GasDetectorSimulator } from './simulator.js';

describe('GasDetectorSimulator', () => {
  it('derives the status like a detector: fault overrides, then high, then low', () => {
    const sim = new GasDetectorSimulator([{ unitId: 1, lowThreshold: 20, highThreshold: 50 }]);
    expect(sim.status(1)).toBe('normal');
    sim.setLel(1, 20);
    expect(sim.status(1)).toBe('low');
    sim.setLel(1, 50);
    expect(sim.status(1)).toBe('high');
    expect(sim.registers(1)).toEqual([500, 2, 200, 500, 0]);
    sim.setFault(1, 4);
    expect(sim.status(1)).toBe('fault');
    expect(sim.registers(1)).toEqual([500, 3, 200, 500, 4]);
    sim.setFault(1, 0);
    sim.setLel(1, 3.3);
    expect(sim.registers(1)).toEqual([33, 0, 200, 500, 0]);
    expect(() => sim.setLel(9, 1)).toThrow(/no simulated unit 9/);
  });

  it('lays out registers from a configurable map', () => {
    const map = GasModel.parse({
      blocks: { main: { table: 'input', start: 30, length: 6 } },
      fields: {
        status: { block: 'main', offset: 0, values: { 16: 'normal', 17: 'low', 18: 'high', 31: 'fault' } },
        lel: { block: 'main', offset: 2, scale: 0.01 },
        lowThreshold: { block: 'main', offset: 3 },
        highThreshold: { block: 'main', offset: 4 },
        faultCode: { block: 'main', offset: 5 },
      },
    });
    const sim = new GasDetectorSimulator(
      [{ unitId: 3, lel: 12.34, lowThreshold: 10, highThreshold: 40 }],
      map,
    );
    expect(sim.registers(3)).toEqual([17, 0, 1234, 10, 40, 0]);
  });
});

describe('gas detector simulator: a site model', () => {
  const model = GasModel.parse({
    blocks: { live: { table: 'input', start: 10, length: 4 }, setup: { table: 'holding', start: 40, length: 4 } },
    fields: {
      lel: { block: 'live', offset: 0, type: 'float32', wordOrder: 'little' },
      status: { block: 'live', offset: 2, type: 'bits', bits: { fault: 0, high: 2, low: 1 }, none: 'normal' },
      faultCode: { block: 'live', offset: 3 },
      lowThreshold: { block: 'setup', offset: 0, type: 'uint32', scale: 0.01 },
      highThreshold: { block: 'setup', offset: 2, type: 'uint32', scale: 0.01 },
    },
    coils: { valve: { address: 3 } },
  });

  it('serves each unit with its own model: blocks, status bits, 32-bit values, the valve coil', () => {
    const sim = new GasDetectorSimulator([1, { unitId: 2, lel: 23.5, model }]);
    expect(sim.read('holding', 1, 0, 5)).toEqual([0, 0, 200, 500, 0]); // generic-lel
    expect(sim.read('input', 2, 10, 4)).toEqual([0x0000, 0x41bc, 0b010, 0]); // 23.5 low word first, low bit
    expect(sim.read('holding', 2, 40, 4)).toEqual([0, 2000, 0, 5000]);
    sim.setFault(2, 9);
    expect(sim.read('input', 2, 12, 2)).toEqual([0b001, 9]);
    sim.setValve(2, true);
    expect(sim.read('coils', 2, 3, 1)).toEqual([true]);
    expect(() => sim.read('input', 2, 12, 3)).toThrow(/illegal data address/); // past the block
    expect(() => sim.read('holding', 2, 0, 1)).toThrow(/illegal data address/); // not in this model
  });
});
