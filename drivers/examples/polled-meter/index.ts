/**
 * Reference polled family (not in the production registry): each device is an HTTP endpoint
 * answering `{"value": <number>}`; the host's poll schedule calls `poll` once per interval and
 * handles failures, backoff and availability.
 */
import { z } from 'zod';
import { DeviceBase, DriverBase, type FamilyDefinition, PollConfig } from '../../../gateway/devices/driver-api.js';

export const PolledMeterDevice = z.strictObject({
  ...DeviceBase.shape,
  /** Where the meter answers its reading, e.g. `http://10.0.4.21/reading`. */
  url: z.url({ protocol: /^https?$/ }),
});
export type PolledMeterDevice = z.infer<typeof PolledMeterDevice>;

export const PolledMeterConfig = z.strictObject({
  ...DriverBase.shape,
  family: z.literal('polled-meter'),
  ...PollConfig,
  /** Longest wait for one answer; a slower device counts as a failed poll. */
  timeoutMs: z.number().int().min(100).default(2000),
  devices: z.array(PolledMeterDevice).min(1),
});
export type PolledMeterConfig = z.infer<typeof PolledMeterConfig>;

const Reading = z.object({ value: z.number().finite() });

export const polledMeter: FamilyDefinition<PolledMeterConfig> = {
  family: 'polled-meter',
  configSchema: PolledMeterConfig,
  commands: {},
  events: {
    'meter.reading': {
      kind: 'telemetry',
      data: z.object({ value: z.number() }),
      description: 'The number the meter answered',
    },
  },
  lifeSafety: false,
  create: (config, ctx) => ({
    commands: {},
    async poll(device) {
      const res = await fetch(device.url, { signal: AbortSignal.timeout(config.timeoutMs) });
      // A failed poll is a rejection: the host counts it and decides about availability.
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const body: unknown = await res.json().catch(() => undefined);
      const reading = Reading.safeParse(body);
      if (!reading.success) {
        // The device answered, so it is alive; what it said is no event.
        ctx.invalid(device.id, 'answer is not {"value": <number>}', body);
        return;
      }
      ctx.emit({
        deviceId: device.id,
        type: 'meter.reading',
        kind: 'telemetry',
        severity: 'info',
        data: { value: reading.data.value },
      });
    },
  }),
};
