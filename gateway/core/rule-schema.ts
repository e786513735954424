/**
 * Alarm rules as configuration. A rule matches events by type and device
 * selectors, may require thresholds on the event data, a `for` duration, a count in a
 * sliding window (optionally of distinct devices: combinations across devices), and says
 * how the alarm clears, whether it latches, and which linkage actions run when it is raised and
 * when it ends.
 * Validated by zod here; checked against the driver registry by `checkRules`.
 */
import { z } from 'zod';
import { Severity } from './envelope.js';
import { Duration } from './time.js';

const OneOrMany = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]);

/** Chooses devices by their config metadata. Every given field must match; `tags` must all be present. */
export const Selector = z.strictObject({
  family: OneOrMany.optional(),
  id: OneOrMany.optional(),
  building: OneOrMany.optional(),
  zone: OneOrMany.optional(),
  tags: z.array(z.string().min(1)).optional(),
});
export type Selector = z.infer<typeof Selector>;

const Scalar = z.union([z.string(), z.number(), z.boolean()]);

/** A threshold on one field of the event data. */
export const Comparison = z.strictObject({
  gt: z.number().optional(),
  gte: z.number().optional(),
  lt: z.number().optional(),
  lte: z.number().optional(),
  eq: Scalar.optional(),
  ne: Scalar.optional(),
  in: z.array(Scalar).optional(),
});
export type Comparison = z.infer<typeof Comparison>;

/** `{ lel: { gte: 25 }, status: high }`: keys are (dotted) paths in the event `data`; a bare value means `eq`. */
export const Where = z.record(z.string().min(1), z.union([Comparison, Scalar]));
export type Where = z.infer<typeof Where>;

/** Event types: exact (`gas.alarm.high`) or a prefix pattern (`gas.alarm.*`). */
export const TypePattern = z
  .string()
  .regex(
    /^[a-z][a-z0-9-]*(\.[a-z0-9-]+)*(\.\*)?$/,
    'an event type like gas.alarm.high, or a pattern like gas.alarm.*',
  );
const TypePatterns = z.union([TypePattern, z.array(TypePattern).min(1)]);

export const EventMatch = z.strictObject({
  type: TypePatterns,
  devices: Selector.optional(),
  where: Where.optional(),
});
export type EventMatch = z.infer<typeof EventMatch>;

/**
 * Linkage action: a driver command sent to the target devices when the alarm is raised, or when
 * it ends (`on: resolve`: resolved by a person or cleared by its condition), e.g. gates held open
 * on a fire and returned to normal operation once it is over.
 */
export const Action = z.strictObject({
  /** `raise` (default): when the alarm is raised; `resolve`: when it is resolved or cleared. */
  on: z.enum(['raise', 'resolve']).default('raise'),
  command: z.string().min(1),
  args: z.record(z.string(), z.unknown()).default({}),
  target: z
    .strictObject({
      /**
       * trigger: the device(s) that raised the alarm; zone/building/site: every configured device
       * there; watchers: the devices whose `watches` has one of the alarm's devices in view (cameras).
       */
      scope: z.enum(['trigger', 'zone', 'building', 'site', 'watchers']).default('trigger'),
      /** Narrows the targets; `family` names the family whose command this is. */
      devices: Selector.optional(),
    })
    .default({ scope: 'trigger' }),
  /** An action not answered within this time is recorded as timed out (and raises `linkage-failed`). */
  timeout: Duration.default('5s'),
});
export type Action = z.infer<typeof Action>;
export type ActionInput = z.input<typeof Action>;

export const RuleId = z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case letters, digits and "-"');

export const Rule = z
  .strictObject({
    id: RuleId,
    enabled: z.boolean().default(true),
    description: z.string().optional(),
    severity: Severity,
    /** Message template: `{device.id}`, `{device.building}`, `{data.lel}`, `{count}`, `{subject}`. */
    message: z.string().optional(),
    match: EventMatch,
    /** One alarm per rule and subject: the trigger device, its zone, its building, or the whole site. */
    subject: z.enum(['device', 'zone', 'building', 'site']).default('device'),
    /** The condition must hold this long before the alarm is raised (debounce). Survives a restart. */
    for: Duration.optional(),
    /** Raise only after `n` matching events within `within` (of distinct devices when `distinctDevices`). */
    count: z
      .strictObject({
        n: z.number().int().min(2),
        within: Duration,
        distinctDevices: z.boolean().default(false),
        /** At least one counted device must match (e.g. two detectors, one of them a smoke detector). */
        including: Selector.optional(),
      })
      .optional(),
    /**
     * How the alarm ends by itself: `manual` (only a person resolves it), `condition` (a matching
     * event whose `where` no longer holds), or an event that clears it (e.g. `{ type: gas.normal }`).
     */
    clear: z.union([z.enum(['manual', 'condition']), EventMatch.omit({ devices: true })]).default('manual'),
    /** Latching alarms never auto-clear (GB 50394 §5.2.3: emergency buttons); requires `clear: manual`. */
    latch: z.boolean().default(false),
    /** Escalate through the notification tiers while not acknowledged. */
    escalate: z.boolean().default(true),
    actions: z.array(Action).default([]),
    /** The device families' linkage on every alarm (e.g. cameras turning to it); `false` opts this rule out. */
    alarmLinkage: z.boolean().default(true),
  })
  .refine((r) => !r.latch || r.clear === 'manual', {
    message: 'a latching rule cannot clear by itself: set clear: manual (or latch: false)',
    path: ['clear'],
  });
export type Rule = z.infer<typeof Rule>;
export type RuleInput = z.input<typeof Rule>;

/** A device in maintenance: its alarms are recorded as suppressed, not raised, between `from` and `until`. */
export const MaintenanceWindow = z.strictObject({
  devices: Selector,
  from: z.iso.datetime({ offset: true }),
  until: z.iso.datetime({ offset: true }),
  reason: z.string().optional(),
});
export type MaintenanceWindow = z.infer<typeof MaintenanceWindow>;

export const AlarmsConfig = z.strictObject({
  /** The built-in life-safety rule set (gateway/alarms/builtin-rules.ts). On by default. */
  builtinRules: z.boolean().default(true),
  /** Built-in rule ids to switch off at this site. A site rule with a built-in's id replaces it. */
  disable: z.array(RuleId).default([]),
  maintenance: z.array(MaintenanceWindow).default([]),
});
export type AlarmsConfig = z.infer<typeof AlarmsConfig>;
