import { describe, expect, it } from 'vitest';
import { alignSeries, hexColor } from './chart.js';

describe('alignSeries', () => {
  it('puts series with points at different times on one ascending time axis in seconds, gaps as null', () => {
    const data = alignSeries([
      { label: 'a', points: [[3000, 3], [1000, 1]] },
      { label: 'b', points: [[2000, 20], [3000, null]] },
    ]);
    expect(data).toEqual([[1, 2, 3], [1, null, 3], [null, 20, null]]);
  });
  it('gives an empty axis for no points', () => {
    expect(alignSeries([{ label: 'a', points: [] }])).toEqual([[], []]);
  });
  it('reads a computed CSS colour as hex', () => {
    expect(hexColor('rgb(238, 241, 244)')).toBe('#eef1f4');
    expect(hexColor('rgba(0, 16, 255, 0.5)')).toBe('#0010ff');
    expect(hexColor('currentcolor')).toBe('#000000');
  });
});
