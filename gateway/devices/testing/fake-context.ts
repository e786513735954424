/**
 * A DriverContext that records what a driver reports, for tests that run a real driver
 * against a real protocol peer (simulator, pymodbus). Set LOG_LEVEL=debug to see driver logs.
 */
import type { DeviceEvent } from '../../core/envelope.js';
import { createLogger } from '../../core/logger.js';
import type { DriverContext } from '../driver-api.js';

export interface RecordingContext extends DriverContext {
  readonly events: DeviceEvent[];
  readonly availabilityLog: { deviceId: string; online: boolean; reason?: string }[];
  readonly invalids: { deviceId: string; reason: string; raw?: unknown }[];
  readonly pollErrors: { deviceId: string; reason: string }[];
  /** Events of one device (and type, if given). */
  eventsOf(deviceId: string, type?: string): DeviceEvent[];
  /** Latest availability reported for a device. */
  online(deviceId: string): boolean | undefined;
}

/** `onEmit` runs as each event is emitted (e.g. to note simulator counters at that moment). */
export function fakeContext(onEmit?: (e: DeviceEvent) => void): RecordingContext {
  const events: DeviceEvent[] = [];
  const availabilityLog: RecordingContext['availabilityLog'] = [];
  const invalids: RecordingContext['invalids'] = [];
  const pollErrors: RecordingContext['pollErrors'] = [];
  return {
    log: createLogger(process.env.LOG_LEVEL ?? 'silent'),
    events,
    availabilityLog,
    invalids,
    pollErrors,
    emit: (e) => {
      events.push(e);
      onEmit?.(e);
    },
    availability: (deviceId, online, reason) => availabilityLog.push({ deviceId, online, reason }),
    invalid: (deviceId, reason, raw) => invalids.push({ deviceId, reason, raw }),
    pollError: (deviceId, reason) => pollErrors.push({ deviceId, reason }),
    busy: () => false,
    eventsOf: (deviceId, type) => events.filter((e) => e.deviceId === deviceId && (!type || e.type === type)),
    online: (deviceId) => availabilityLog.filter((a) => a.deviceId === deviceId).at(-1)?.online,
  };
}
