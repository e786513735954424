/**
 * Root schema of a site configuration file (one YAML file per site). Parsed once at
 * start by `loadConfig`, then frozen. `docs/config.schema.json` is generated from it.
 */
import { z } from 'zod';
import { DEFINITIONS } from '../drivers/index.js';
import { AlarmsConfig, Rule } from '../gateway/core/rule-schema.js';
import { isTimeZone } from '../gateway/core/clock.js';
import { BrokerConfig } from '../gateway/broker/broker-config.js';
import type { DriverConfig } from '../gateway/devices/driver-api.js';
import { HttpConfig } from '../gateway/http/http-config.js';
import { NotifyConfig } from '../gateway/notify/notify-schema.js';
import { PrivacyConfig } from '../gateway/uplink/privacy.js';
import { UplinkConfig } from '../gateway/uplink/uplink-config.js';
import { VideoConfig } from '../gateway/video/video-config.js';

const Id = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case letters, digits and "-" (it becomes an MQTT topic level)');

export type { DriverConfig } from '../gateway/devices/driver-api.js';

const driverSchemas = DEFINITIONS.map((d) => d.configSchema) as unknown as [z.ZodObject, ...z.ZodObject[]];

/** One entry per driver instance, chosen by `family` from the family registry. */
const Drivers = z.array(z.discriminatedUnion('family', driverSchemas)) as unknown as z.ZodType<
  DriverConfig[]
>;

export const SiteConfig = z.strictObject({
  site: z.strictObject({
    id: Id,
    name: z.string().optional(),
    /** Used by astronomical schedules (streetlights). */
    latitude: z.number().min(-90).max(90).optional(),
    longitude: z.number().min(-180).max(180).optional(),
    /** IANA time zone of the site, for schedules at local hours; the machine's when absent. */
    timezone: z
      .string()
      .refine(isTimeZone, { message: 'unknown time zone: use an IANA name such as Asia/Shanghai' })
      .optional(),
  }),
  gateway: z.strictObject({ id: Id }),
  /** Demo mode: anonymous read-only access to the local broker. Never in production. */
  demo: z.boolean().default(false),
  log: z
    .strictObject({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info') })
    .default({
      level: 'info',
    }),
  broker: BrokerConfig.default({ listeners: [{ type: 'tcp', host: '127.0.0.1', port: 1883 }], accounts: [] }),
  journal: z
    .strictObject({
      path: z.string().default('data/gateway.db'),
      /** FULL survives power loss; NORMAL only a process crash (sqlite.org/wal.html). */
      synchronous: z.enum(['FULL', 'NORMAL']).default('FULL'),
      retention: z
        .strictObject({
          maxAgeDays: z.number().positive().default(30),
          maxSizeMB: z.number().positive().default(2048),
        })
        .default({ maxAgeDays: 30, maxSizeMB: 2048 }),
    })
    .default({
      path: 'data/gateway.db',
      synchronous: 'FULL',
      retention: { maxAgeDays: 30, maxSizeMB: 2048 },
    }),
  /** Files the drivers keep (gate pictures, camera snapshots), in `files/` beside the journal. */
  files: z
    .strictObject({
      /** Total size budget: past it, the oldest files are deleted. */
      maxSizeMB: z.number().positive().default(1024),
    })
    .default({ maxSizeMB: 1024 }),
  /** Ops server: /healthz, /metrics, the duty console; a login on anything but a loopback address. */
  http: HttpConfig,
  drivers: Drivers.default([]),
  /** Local alarm engine: built-in life-safety rules on/off, maintenance windows. */
  alarms: AlarmsConfig.default({ builtinRules: true, disable: [], maintenance: [] }),
  /** Site alarm rules; a rule with a built-in rule's id replaces it. Checked against the driver registry. */
  rules: z.array(Rule).default([]),
  /** Alarm notification: SMS (GSM modem) and webhook channels, escalation tiers. The console feed always gets alarms. */
  notify: NotifyConfig.default({
    channels: [],
    tiers: [{ name: 'duty', after: '0s', channels: [], minSeverity: 'info' }],
  }),
  /** Store-and-forward uplink to the city platform. Omit to run without one. */
  uplink: UplinkConfig.optional(),
  /**
   * What the city gets of data that identifies a person (card and employee numbers, names, as
   * each family declares them): `masked` by default. The gateway's own journal, local bus and
   * console keep the full data.
   */
  privacy: PrivacyConfig.prefault({}),
  /** Live view of the cameras in the staff console: how many streams at once, picture size. */
  video: VideoConfig.prefault({}),
});
export type SiteConfig = z.infer<typeof SiteConfig>;
