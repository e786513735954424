/**
 * The alarm engine's options, hooks and the shapes its parts pass to each other: what raised an
 * alarm (a trigger) and how a linkage command ended (an action outcome).
 */
import type { Execute } from '../commands/commands.js';
import type { Alarm } from '../core/alarm-types.js';
import type { DeviceEvent, DeviceRef, EventEnvelope, EventKind } from '../core/envelope.js';
import type { Logger } from '../core/logger.js';
import type { Journal } from '../journal/journal.js';
import type { AlarmStore } from './alarm-store.js';
import type { Clock } from '../core/clock.js';
import type { MaintenanceWindow } from '../core/rule-schema.js';
import type { Watches } from '../core/watches.js';
import type { CompiledRule } from './rule-set.js';

export interface EngineTier {
  name: string;
  afterMs: number;
}

/** What raised an alarm: an event, or the engine itself (failed linkage). */
export interface Trigger {
  eventId: string;
  type: string;
  kind: EventKind;
  receivedAt: string;
  data: Record<string, unknown>;
  device: DeviceRef;
}

/** When a linkage action runs: as the alarm is raised, or as it ends (resolved or cleared). */
export type ActionOn = 'raise' | 'resolve';

export interface ActionOutcome {
  alarmId: string;
  rule: string;
  on: ActionOn;
  command: string;
  target: string;
  /** `skipped`: a resolve action left a device another active alarm still holds. */
  outcome: 'ok' | 'failed' | 'timeout' | 'skipped';
  error?: string;
  data?: Record<string, unknown>;
}

export interface AlarmEngineHooks {
  /** A notification tier is due for this alarm (at raise: tier 0; then on each escalation). */
  notify?(alarm: Alarm, tier: number): void;
  /** A linkage command is about to be sent (benchmark and metrics). */
  actionSent?(alarm: Alarm, command: string, target: string): void;
  actionDone?(o: ActionOutcome): void;
  transition?(type: string, alarm: Alarm): void;
}

export interface AlarmEngineOptions {
  rules: readonly CompiledRule[];
  linkageFailed: CompiledRule;
  store: AlarmStore;
  journal: Journal;
  ingest: (e: DeviceEvent) => EventEnvelope | undefined;
  devices: ReadonlyMap<string, DeviceRef>;
  /** What each watching device (a camera) has in view, by device id. */
  watches?: ReadonlyMap<string, Watches>;
  execute: Execute;
  tiers: readonly EngineTier[];
  maintenance?: readonly MaintenanceWindow[];
  clock: Clock;
  log: Logger;
  hooks?: AlarmEngineHooks;
}

/** Epoch milliseconds as the ISO-8601 text alarms carry. */
export const iso = (ms: number) => new Date(ms).toISOString();

export function triggerOf(env: EventEnvelope): Trigger {
  return {
    eventId: env.id,
    type: env.type,
    kind: env.kind,
    receivedAt: env.receivedAt,
    data: env.data,
    device: env.device,
  };
}
