/**
 * ONVIF event topics (ONVIF Core §9, the topic namespace tns1) and the family's event each one
 * becomes, as data a site file extends (`topics:` of the driver), plus the pure reading of one
 * PullMessages NotificationMessage as the npm `onvif` package hands it over.
 */
import { z } from 'zod';

export const TOPIC_EVENTS = ['camera.motion', 'camera.tamper', 'camera.video-loss', 'camera.line-crossed', 'camera.intrusion'] as const;
export type TopicEvent = (typeof TOPIC_EVENTS)[number];

export const TopicMapping = z.strictObject({
  /** The topic, e.g. `tns1:VideoSource/MotionAlarm` (the namespace prefix is not compared). */
  topic: z.string().regex(/^([A-Za-z][\w.-]*:)?[\w.-]+(\/[\w.-]+)*$/, 'a topic like tns1:VideoSource/MotionAlarm'),
  event: z.enum(TOPIC_EVENTS),
  /** Property topics: the Data item holding the state (true/false, 1/0). Absent: a pulse (each message is one event). */
  state: z.string().min(1).optional(),
  /** The Source or Data item naming the analytics rule (reported as `zone` of motion/intrusion, `rule` of a line crossing). */
  rule: z.string().min(1).optional(),
  /** The Source or Data item naming the zone (region) within the rule, for models that report one (night motion's `zone`). */
  zone: z.string().min(1).optional(),
  /** The Data item with the object's id (line crossing). */
  objectId: z.string().min(1).optional(),
});
export type TopicMapping = z.infer<typeof TopicMapping>;

export const BUILTIN_TOPICS: readonly TopicMapping[] = [
  { topic: 'tns1:VideoSource/MotionAlarm', event: 'camera.motion', state: 'State' },
  { topic: 'tns1:RuleEngine/CellMotionDetector/Motion', event: 'camera.motion', state: 'IsMotion', rule: 'Rule' },
  { topic: 'tns1:VideoSource/GlobalSceneChange/ImagingService', event: 'camera.tamper', state: 'State' },
  { topic: 'tns1:VideoSource/SignalLoss', event: 'camera.video-loss', state: 'State' },
  { topic: 'tns1:RuleEngine/LineDetector/Crossed', event: 'camera.line-crossed', rule: 'Rule', objectId: 'ObjectId' },
  { topic: 'tns1:RuleEngine/FieldDetector/ObjectsInside', event: 'camera.intrusion', state: 'IsInside', rule: 'Rule' },
];

/** The topic without its namespace prefix: `VideoSource/MotionAlarm`. */
export const topicKey = (topic: string): string => topic.trim().replace(/^[A-Za-z][\w.-]*:/, '');

/** The built-in topics with the site's added or replacing ones, by topic. */
export function topicTable(site: readonly TopicMapping[]): ReadonlyMap<string, TopicMapping> {
  return new Map([...BUILTIN_TOPICS, ...site].map((t) => [topicKey(t.topic), t]));
}

/** One notification, read. `on` for property topics; `initialized` when it is the state a new subscription starts with. */
export interface Notification {
  topic: string;
  mapping: TopicMapping;
  initialized: boolean;
  on?: boolean;
  rule?: string;
  zone?: string;
  objectId?: string;
}

type Items = Record<string, unknown>;

/**
 * Reads one NotificationMessage (`{ topic: { _ }, message: { message: { $, source, data } } }`):
 * undefined for a topic the table does not know (ignored), an Error for one it knows but cannot read.
 */
export function readNotification(raw: unknown, table: ReadonlyMap<string, TopicMapping>): Notification | Error | undefined {
  const m = raw as { topic?: { _?: unknown } | string; message?: { message?: { $?: { PropertyOperation?: unknown }; source?: unknown; data?: unknown } } };
  const topic = typeof m?.topic === 'string' ? m.topic : m?.topic?._;
  if (typeof topic !== 'string') return new Error('notification without a topic');
  const mapping = table.get(topicKey(topic));
  if (!mapping) return undefined;
  const body = m.message?.message;
  if (!body) return new Error(`${topic}: notification without a Message`);
  const items: Items = { ...simpleItems(body.source), ...simpleItems(body.data) };
  const n: Notification = { topic, mapping, initialized: body.$?.PropertyOperation === 'Initialized' };
  if (mapping.state) {
    const on = bool(items[mapping.state]);
    if (on === undefined) return new Error(`${topic}: data item ${mapping.state} is ${JSON.stringify(items[mapping.state])}, not true/false`);
    n.on = on;
  }
  if (mapping.rule && items[mapping.rule] !== undefined) n.rule = String(items[mapping.rule]);
  if (mapping.zone && items[mapping.zone] !== undefined) n.zone = String(items[mapping.zone]);
  if (mapping.objectId && items[mapping.objectId] !== undefined) n.objectId = String(items[mapping.objectId]);
  return n;
}

/** `{ simpleItem: {$:{Name,Value}} | [...] }` → `{ Name: Value }`. */
function simpleItems(part: unknown): Items {
  const list = (part as { simpleItem?: unknown } | undefined)?.simpleItem;
  const out: Items = {};
  for (const it of Array.isArray(list) ? list : list === undefined ? [] : [list]) {
    const a = (it as { $?: { Name?: unknown; Value?: unknown } })?.$;
    if (typeof a?.Name === 'string') out[a.Name] = a.Value;
  }
  return out;
}

function bool(v: unknown): boolean | undefined {
  if (v === true || v === 1 || v === 'true' || v === '1') return true;
  if (v === false || v === 0 || v === 'false' || v === '0') return false;
  return undefined;
}
