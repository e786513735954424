import { describe, expect, it } from 'vitest';
import { debounce, newTrack } from './debounce.js';

/** Feeds reads [time, value] and returns what each read reported. */
const feed = (reads: [number, boolean][], debounceMs: number) => {
  const t = newTrack();
  return reads.map(([at, v]) => debounce(t, v, at, debounceMs));
};

describe('debounce of a polled input', () => {
  it('reports the first value once it held for debounceMs', () => {
    expect(feed([[0, false], [100, false]], 100)).toEqual([undefined, false]);
    expect(feed([[0, true], [50, true], [100, true], [200, true]], 100)).toEqual([undefined, undefined, true, undefined]);
  });

  it('drops a change seen in one read only', () => {
    const reads: [number, boolean][] = [[0, false], [100, false], [200, true], [300, false], [400, false]];
    expect(feed(reads, 100)).toEqual([undefined, false, undefined, undefined, undefined]);
  });

  it('restarts the wait when the candidate flips back and forth', () => {
    const reads: [number, boolean][] = [[0, false], [100, false], [200, true], [250, false], [260, true], [300, true], [360, true]];
    expect(feed(reads, 100)).toEqual([undefined, false, undefined, undefined, undefined, undefined, true]);
  });

  it('with debounceMs 0 reports every change at once', () => {
    expect(feed([[0, true], [10, false], [20, false]], 0)).toEqual([true, false, undefined]);
  });
});
