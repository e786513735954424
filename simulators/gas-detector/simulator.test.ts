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
