/**
 * The local alarm engine. Evaluates every committed event against the rules, keeps one active
 * alarm per rule and subject, runs `for` timers, sliding windows and escalation, sends linkage
 * commands through the command executor, and reports every transition as an `alarm.*` event
 * (kind `alarm`) through the pipeline, so it is journaled, published on the local bus, shown on
 * the feed and sent to the city in the alarm lane.
 *
 * This class only composes its parts: rule evaluation (rule-evaluator.ts, with pending-timers.ts
 * and count-windows.ts), the lifecycle (alarm-lifecycle.ts), linkage (linkage.ts) and durable
 * transition reporting (durable-transitions.ts).
 *
 * Durability: a transition's state change is written inside the journal transaction that stores
 * its event, so after a crash either both exist or neither; pending `for` timers and window
 * entries are written with the commit of the event that starts them. After a restart the engine
 * reloads them and fires a pending timer at its original due time (at once if already due), exactly once.
 */
import type { Alarm, LifecycleResult } from '../core/alarm-types.js';
import type { EventEnvelope } from '../core/envelope.js';
import { ActiveAlarms } from './active-alarms.js';
import { AlarmLifecycle } from './alarm-lifecycle.js';
import type { PendingTimer } from './alarm-store.js';
import { CountWindows } from './count-windows.js';
import { TransitionReporter } from './durable-transitions.js';
import type { AlarmEngineOptions } from './engine-types.js';
import { Linkage } from './linkage.js';
import { RuleEvaluator } from './rule-evaluator.js';
import type { CompiledRule } from './rule-set.js';

export type { LifecycleResult } from '../core/alarm-types.js';
export type { ActionOn, ActionOutcome, AlarmEngineHooks, AlarmEngineOptions, EngineTier, Trigger } from './engine-types.js';

export class AlarmEngine {
  private readonly alarms = new ActiveAlarms();
  private readonly rulesById: Map<string, CompiledRule>;
  private readonly report: TransitionReporter;
  private readonly windows: CountWindows;
  private readonly lifecycle: AlarmLifecycle;
  private readonly linkage: Linkage;
  private readonly evaluator: RuleEvaluator;
  private started = false;
  private stopped = false;
  /** Events committed before `start` (drivers may start first): evaluated once state is loaded. */
  private early: EventEnvelope[] = [];

  constructor(private readonly o: AlarmEngineOptions) {
    this.rulesById = new Map([...o.rules, o.linkageFailed].map((r) => [r.rule.id, r]));
    const isStopped = () => this.stopped;
    // State changes commit in the same transaction as the event that reports them.
    this.report = new TransitionReporter(o);
    this.windows = new CountWindows(o.store, o.clock, this.report);
    this.lifecycle = new AlarmLifecycle(o, this.alarms, this.windows, this.report, isStopped, (a, on) => {
      const cr = this.rulesById.get(a.rule);
      if (cr) this.linkage.run(cr, a, on);
    });
    this.linkage = new Linkage(o, this.alarms, this.lifecycle, this.report, isStopped, (id) => this.rulesById.get(id));
    this.evaluator = new RuleEvaluator(o, this.rulesById, this.alarms, this.windows, this.lifecycle, isStopped, this.report);
  }

  /** Loads active alarms, pending timers and windows from the database and re-arms the timers. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.lifecycle.load();
    this.windows.load();
    this.evaluator.timers.load((rule) => this.rulesById.has(rule));
    this.o.log.info(
      { active: this.alarms.size, pending: this.evaluator.timers.size, rules: this.o.rules.length },
      'alarm engine started',
    );
    const early = this.early;
    this.early = [];
    for (const env of early) this.handle(env);
  }

  stop(): void {
    this.stopped = true;
    this.evaluator.timers.stop();
    this.lifecycle.stop();
  }

  // ---- queries ------------------------------------------------------------------------------

  activeAlarms(): Alarm[] {
    return this.alarms.sorted();
  }

  get(id: string): Alarm | undefined {
    return this.alarms.byId(id) ?? this.o.store.get(id);
  }

  pendingTimers(): PendingTimer[] {
    return this.evaluator.timers.list();
  }

  get rules(): readonly CompiledRule[] {
    return this.o.rules;
  }

  // ---- events -------------------------------------------------------------------------------

  /** Called with every committed event: its state write (if any) is done. */
  committed(env: EventEnvelope): void {
    this.report.committed(env);
  }

  /**
   * Evaluates one event against the rules. Called with every event in sequence order, either as
   * it enters the pipeline (the gateway: the alarm event then joins its trigger's group commit
   * and linkage starts without waiting for a disk flush) or once it is committed.
   */
  handle(env: EventEnvelope): void {
    if (this.stopped || env.type.startsWith('alarm.')) return;
    if (!this.started) {
      if (this.early.length < 100_000) this.early.push(env);
      return;
    }
    this.evaluator.handle(env);
  }

  // ---- duty officer and notifier --------------------------------------------------------------

  acknowledge(id: string, by: string, note?: string): LifecycleResult {
    return this.lifecycle.acknowledge(id, by, note);
  }

  resolve(id: string, by: string, note?: string): LifecycleResult {
    return this.lifecycle.resolve(id, by, note);
  }

  /** Records a notification outcome (from the notifier) in the alarm's history and as an event. */
  recordNotification(
    alarmId: string,
    detail: { channel: string; ok: boolean; attempts: number; error?: string; to?: string[] },
  ): void {
    this.lifecycle.recordNotification(alarmId, detail);
  }
}
