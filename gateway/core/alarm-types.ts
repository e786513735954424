/**
 * The alarm record: one per rule and subject while active, kept after it ends for the history.
 * Shared by the alarm engine (gateway/alarms), the notification channels (gateway/notify) and the
 * duty console (gateway/console); it holds types and pure helpers only, so those folders depend
 * on it and never on each other's logic.
 */
import type { DeviceRef, Severity } from './envelope.js';

export type AlarmState = 'raised' | 'acknowledged' | 'resolved' | 'cleared';

export type HistoryWhat =
  | 'raised'
  | 'repeated'
  | 'acknowledged'
  | 'resolved'
  | 'cleared'
  | 'escalated'
  | 'action'
  | 'notified';

export interface AlarmHistoryEntry {
  at: string;
  what: HistoryWhat;
  by?: string;
  note?: string;
  detail?: Record<string, unknown>;
}

export interface Person {
  by: string;
  at: string;
  note?: string;
}

export interface Alarm {
  id: string;
  rule: string;
  /** Device id, `zone:<building>/<zone>`, `building:<building>` or `site`. */
  subject: string;
  severity: Severity;
  message: string;
  state: AlarmState;
  active: boolean;
  /** How many times the condition was met while this alarm was active (1 when raised). */
  count: number;
  latch: boolean;
  /** The device whose event raised it (the gateway itself for internal alarms). */
  device: DeviceRef;
  /** Devices whose events contributed (combinations across devices). */
  devices: string[];
  trigger: { eventId: string; type: string; receivedAt: string; data: Record<string, unknown> };
  raisedAt: string;
  updatedAt: string;
  acknowledged?: Person;
  resolved?: Person;
  /** Index of the notification tier reached so far. */
  tier: number;
  tierName: string;
  /** Epoch ms of the next escalation while unacknowledged. */
  nextEscalationAt?: number;
  history: AlarmHistoryEntry[];
}

/** Most history entries kept per alarm (the journal keeps every transition event anyway). */
export const HISTORY_LIMIT = 200;

export const alarmKey = (rule: string, subject: string) => `${rule}|${subject}`;

/** The answer to a duty officer's acknowledge or resolve. */
export type LifecycleResult = { ok: true; alarm: Alarm } | { ok: false; error: string };

/** The alarm as carried in `alarm.*` events and on the feed (without its history). */
export function summary(a: Alarm): Omit<Alarm, 'history'> {
  const { history: _h, ...rest } = a;
  return rest;
}
