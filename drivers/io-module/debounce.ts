/**
 * Debounce of one polled input. A value different from the one reported becomes a candidate;
 * it is reported once it has been read in consecutive polls spanning at least `debounceMs`.
 * A read showing the reported value again drops the candidate, so a change seen in one poll
 * only (a bouncing contact, a glitch on the line) is never reported. With `debounceMs` 0 a
 * change is reported at the first read that shows it.
 */
export interface InputTrack {
  /** The value last reported; undefined before the first report. */
  reported?: boolean;
  candidate?: boolean;
  /** Monotonic ms of the first read of the candidate. */
  since: number;
}

export const newTrack = (): InputTrack => ({ since: 0 });

/** Feeds one read at monotonic time `now`; returns the value to report now, if any. */
export function debounce(t: InputTrack, value: boolean, now: number, debounceMs: number): boolean | undefined {
  if (value === t.reported) {
    t.candidate = undefined;
    return undefined;
  }
  if (t.candidate !== value) {
    t.candidate = value;
    t.since = now;
    if (debounceMs > 0) return undefined;
  }
  if (now - t.since < debounceMs) return undefined;
  t.reported = value;
  t.candidate = undefined;
  return value;
}
