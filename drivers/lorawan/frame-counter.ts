/**
 * Uplink frame counters (LoRaWAN 1.0.x §4.3.1.5, FCntUp), per device, kept in the driver store
 * so that a gateway restart does not report an uplink twice:
 *
 * - a counter seen recently (the same uplink delivered again: a redelivery, a second
 *   integration) is a `duplicate`;
 * - above the last one: `new` (a gap is frames lost on the air);
 * - below it by at most `window`: `late` (delivered out of order; still reported);
 * - back to 0, or below by more than `window`: `reset` (the device restarted; a join resets the
 *   counter at once).
 */
import type { DriverStore } from '../../gateway/devices/driver-api.js';

export type FrameVerdict = 'new' | 'late' | 'duplicate' | 'reset';

interface Kept {
  last: number;
  /** The most recent counters accepted, at most `window`. */
  recent: number[];
}

export class FrameCounters {
  constructor(
    private readonly store: DriverStore,
    private readonly window = 16,
  ) {}

  private key = (deviceId: string) => `fcnt/${deviceId}`;

  check(deviceId: string, fCnt: number): FrameVerdict {
    const kept = this.store.get<Kept>(this.key(deviceId));
    if (!kept) return this.keep(deviceId, { last: fCnt, recent: [fCnt] }, 'new');
    if (fCnt === kept.last || kept.recent.includes(fCnt)) return 'duplicate';
    const recent = [...kept.recent, fCnt].slice(-this.window);
    if (fCnt > kept.last) return this.keep(deviceId, { last: fCnt, recent }, 'new');
    if (fCnt === 0 || kept.last - fCnt > this.window) {
      return this.keep(deviceId, { last: fCnt, recent: [fCnt] }, 'reset');
    }
    return this.keep(deviceId, { last: kept.last, recent }, 'late');
  }

  /** The device joined again: its next counter starts a new sequence. */
  reset(deviceId: string): void {
    this.store.delete(this.key(deviceId));
  }

  private keep(deviceId: string, kept: Kept, verdict: FrameVerdict): FrameVerdict {
    this.store.set(this.key(deviceId), kept);
    return verdict;
  }
}
