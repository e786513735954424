/**
 * The camera's event service (ONVIF Core §9, WS-BaseNotification 1.3): pull-point subscriptions
 * that expire at their termination time, PullMessages that waits up to its Timeout for a message
 * and answers at most MessageLimit of them, and the topics a camera raises as `tt:Message` with
 * `Source` / `Data` SimpleItems.
 */
import { escapeXml, SoapError } from './soap.js';

export interface CameraEvent {
  /** Concrete topic, e.g. `tns1:VideoSource/MotionAlarm`. */
  topic: string;
  /** `Initialized` (sent to a new subscription for each property), `Changed`, or undefined for a pulse (line crossing). */
  operation?: 'Initialized' | 'Changed';
  source: Record<string, string>;
  data: Record<string, string>;
  /** Camera time, ms. */
  utcTime: number;
}

/** A topic the camera raises: its Source and Data items (name → xs type), as in GetEventProperties. */
export interface TopicDef {
  topic: string;
  property: boolean;
  source: Record<string, string>;
  data: Record<string, string>;
}

export const TOPICS: readonly TopicDef[] = [
  { topic: 'tns1:VideoSource/MotionAlarm', property: true, source: { Source: 'tt:ReferenceToken' }, data: { State: 'xs:boolean' } },
  {
    topic: 'tns1:RuleEngine/CellMotionDetector/Motion',
    property: true,
    source: { VideoSourceConfigurationToken: 'tt:ReferenceToken', VideoAnalyticsConfigurationToken: 'tt:ReferenceToken', Rule: 'xs:string' },
    data: { IsMotion: 'xs:boolean' },
  },
  { topic: 'tns1:VideoSource/GlobalSceneChange/ImagingService', property: true, source: { Source: 'tt:ReferenceToken' }, data: { State: 'xs:boolean' } },
  { topic: 'tns1:VideoSource/SignalLoss', property: true, source: { Source: 'tt:ReferenceToken' }, data: { State: 'xs:boolean' } },
  {
    topic: 'tns1:RuleEngine/LineDetector/Crossed',
    property: false,
    source: { VideoSourceConfigurationToken: 'tt:ReferenceToken', VideoAnalyticsConfigurationToken: 'tt:ReferenceToken', Rule: 'xs:string' },
    data: { ObjectId: 'xs:integer' },
  },
];

interface Subscription {
  id: number;
  expiresAt: number;
  queue: CameraEvent[];
  wake?: () => void;
}

/** Messages a subscription keeps before dropping the oldest (a real camera's buffer is bounded too). */
const MAX_QUEUE = 1000;
/** Longest PullMessages wait the camera grants (ONVIF asks for at least one minute). */
export const MAX_PULL_WAIT_MS = 60_000;

export class EventBroker {
  private readonly subs = new Map<number, Subscription>();
  private nextId = 1;

  constructor(private readonly now: () => number) {}

  create(expiresAt: number, initial: CameraEvent[]): number {
    const id = this.nextId++;
    this.subs.set(id, { id, expiresAt, queue: [...initial] });
    return id;
  }

  /** Live subscriptions (expired ones are removed first). */
  ids(): number[] {
    this.sweep();
    return [...this.subs.keys()];
  }

  renew(id: number, expiresAt: number): void {
    this.get(id).expiresAt = expiresAt;
  }

  expiresAt(id: number): number {
    return this.get(id).expiresAt;
  }

  unsubscribe(id: number): void {
    const s = this.get(id);
    this.subs.delete(id);
    s.wake?.();
  }

  /** Every subscription is gone (a reboot). */
  clear(): void {
    for (const s of this.subs.values()) s.wake?.();
    this.subs.clear();
  }

  publish(e: CameraEvent): void {
    this.sweep();
    for (const s of this.subs.values()) {
      s.queue.push(e);
      if (s.queue.length > MAX_QUEUE) s.queue.shift();
      s.wake?.();
    }
  }

  /** Waits up to `waitMs` for a message; answers at most `limit` (oldest first). `aborted` ends the wait early. */
  async pull(id: number, waitMs: number, limit: number, aborted: AbortSignal): Promise<CameraEvent[]> {
    const s = this.get(id);
    if (s.queue.length === 0 && waitMs > 0) {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          aborted.removeEventListener('abort', done);
          if (s.wake === done) s.wake = undefined;
          resolve();
        };
        const timer = setTimeout(done, Math.min(waitMs, MAX_PULL_WAIT_MS, Math.max(0, s.expiresAt - this.now())));
        aborted.addEventListener('abort', done);
        s.wake?.();
        s.wake = done;
      });
    }
    return s.queue.splice(0, limit);
  }

  private get(id: number): Subscription {
    this.sweep();
    const s = this.subs.get(id);
    if (!s) {
      throw new SoapError('env:Sender', ['ter:InvalidArgVal', 'ter:ResourceUnknown'], `no subscription ${id}: it expired, was unsubscribed, or the camera rebooted; create a new one`);
    }
    return s;
  }

  private sweep(): void {
    const now = this.now();
    for (const s of this.subs.values()) {
      if (s.expiresAt <= now) {
        this.subs.delete(s.id);
        s.wake?.();
      }
    }
  }
}

const items = (tag: string, kv: Record<string, string>) =>
  `<tt:${tag}>${Object.entries(kv)
    .map(([k, v]) => `<tt:SimpleItem Name="${escapeXml(k)}" Value="${escapeXml(v)}"/>`)
    .join('')}</tt:${tag}>`;

export function notificationXml(e: CameraEvent, subscriptionAddress: string): string {
  const op = e.operation ? ` PropertyOperation="${e.operation}"` : '';
  return (
    `<wsnt:NotificationMessage><wsnt:SubscriptionReference><wsa:Address>${escapeXml(subscriptionAddress)}</wsa:Address></wsnt:SubscriptionReference>` +
    `<wsnt:Topic Dialect="http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet">${e.topic}</wsnt:Topic>` +
    `<wsnt:Message><tt:Message UtcTime="${new Date(e.utcTime).toISOString()}"${op}>` +
    items('Source', e.source) +
    items('Data', e.data) +
    `</tt:Message></wsnt:Message></wsnt:NotificationMessage>`
  );
}

/** The TopicSet of GetEventProperties: each topic with its MessageDescription. */
export function topicSetXml(): string {
  const tree = new Map<string, Map<string, TopicDef[]>>();
  let out = '';
  for (const t of TOPICS) {
    const [root, ...rest] = t.topic.replace(/^tns1:/, '').split('/');
    const byRoot = tree.get(root!) ?? new Map<string, TopicDef[]>();
    tree.set(root!, byRoot);
    const key = rest.join('/');
    byRoot.set(key, [...(byRoot.get(key) ?? []), t]);
  }
  const decl = (kv: Record<string, string>) =>
    Object.entries(kv)
      .map(([k, v]) => `<tt:SimpleItemDescription Name="${k}" Type="${v}"/>`)
      .join('');
  for (const [root, leaves] of tree) {
    out += `<tns1:${root}>`;
    for (const [key, defs] of leaves) {
      const parts = key.split('/');
      out += parts.map((p, i) => (i === parts.length - 1 ? `<${p} wstop:topic="true">` : `<${p}>`)).join('');
      for (const d of defs) {
        out +=
          `<tt:MessageDescription IsProperty="${d.property}"><tt:Source>${decl(d.source)}</tt:Source>` +
          `<tt:Data>${decl(d.data)}</tt:Data></tt:MessageDescription>`;
      }
      out += [...parts].reverse().map((p) => `</${p}>`).join('');
    }
    out += `</tns1:${root}>`;
  }
  return `<wstop:TopicSet>${out}</wstop:TopicSet>`;
}
