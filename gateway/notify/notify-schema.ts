/**
 * Notification channels and escalation tiers. The console feed always receives every alarm;
 * tiers add SMS (serial GSM modem) and local webhooks, and escalate while nobody acknowledges.
 */
import { z } from 'zod';
import { Duration } from '../core/time.js';

const ChannelId = z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case letters, digits and "-"');

const Retry = {
  /** Tries per message, the first included. */
  attempts: z.number().int().min(1).max(20).default(3),
  retryDelay: Duration.default('5s'),
  timeout: Duration.default('30s'),
};

export const SmsChannel = z.strictObject({
  type: z.literal('sms'),
  id: ChannelId,
  enabled: z.boolean().default(true),
  /** Serial device of the GSM/4G modem, e.g. /dev/ttyUSB2. */
  port: z.string().min(1),
  baudRate: z.number().int().positive().default(115200),
  /** Duty phone numbers (international format). */
  to: z
    .array(z.string().regex(/^\+?[0-9]{3,20}$/, 'a phone number: digits, optionally with a leading +'))
    .min(1),
  ...Retry,
});
export type SmsChannel = z.infer<typeof SmsChannel>;

export const WebhookChannel = z.strictObject({
  type: z.literal('webhook'),
  id: ChannelId,
  enabled: z.boolean().default(true),
  /** A local endpoint that receives `POST` with the alarm as JSON. */
  url: z.url({ protocol: /^https?$/ }),
  headers: z.record(z.string(), z.string()).default({}),
  ...Retry,
});
export type WebhookChannel = z.infer<typeof WebhookChannel>;

export const Channel = z.discriminatedUnion('type', [SmsChannel, WebhookChannel]);
export type Channel = z.infer<typeof Channel>;

export const Tier = z.strictObject({
  name: ChannelId,
  /** Time since the alarm was raised, unacknowledged, before this tier is notified (the first tier: 0s). */
  after: Duration.default('0s'),
  /** Channel ids; the console feed is always notified. */
  channels: z.array(ChannelId).default([]),
  /** Only alarms of at least this severity reach this tier. */
  minSeverity: z.enum(['info', 'warning', 'major', 'critical']).default('info'),
});
export type Tier = z.infer<typeof Tier>;

export const NotifyConfig = z.strictObject({
  channels: z.array(Channel).default([]),
  tiers: z
    .array(Tier)
    .min(1)
    .default([{ name: 'duty', after: '0s', channels: [], minSeverity: 'info' }]),
});
export type NotifyConfig = z.infer<typeof NotifyConfig>;
