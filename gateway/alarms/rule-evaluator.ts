/**
 * Rule evaluation: matches each event against the rules (type, device selector, `where`), and
 * decides what a match means: suppressed during maintenance or when the device reports it late
 * (historical), a repeat of the active alarm, one more entry in a count window, a `for` timer to
 * start, or a new alarm. Events that no longer satisfy the condition, or that match `clear`,
 * cancel a pending timer and clear an alarm that does not latch; a historical event does neither.
 */
import { alarmKey } from '../core/alarm-types.js';
import type { DeviceRef, EventEnvelope } from '../core/envelope.js';
import { errorMessage } from '../core/errors.js';
import type { ActiveAlarms } from './active-alarms.js';
import type { AlarmLifecycle } from './alarm-lifecycle.js';
import type { PendingTimer } from './alarm-store.js';
import { CountWindows } from './count-windows.js';
import { type AlarmEngineOptions, type Trigger, triggerOf } from './engine-types.js';
import { selectorMatches, subjectOf, typeMatches, whereMatches } from './match.js';
import type { TransitionReporter } from './durable-transitions.js';
import { PendingTimers } from './pending-timers.js';
import type { MaintenanceWindow } from '../core/rule-schema.js';
import type { CompiledRule } from './rule-set.js';

export class RuleEvaluator {
  readonly timers: PendingTimers;
  /** Per rule and subject: the end of the maintenance window already reported as suppressed. */
  private readonly suppressed = new Map<string, number>();
  private readonly ruleCache = new Map<string, CompiledRule[]>();

  constructor(
    private readonly o: AlarmEngineOptions,
    private readonly rulesById: ReadonlyMap<string, CompiledRule>,
    private readonly alarms: ActiveAlarms,
    private readonly windows: CountWindows,
    private readonly lifecycle: AlarmLifecycle,
    isStopped: () => boolean,
    report: Pick<TransitionReporter, 'writeWith'>,
  ) {
    this.timers = new PendingTimers(o.store, o.clock, isStopped, (p) => this.firePending(p), report);
  }

  /** Evaluates one event against every rule whose match or clear types cover it. */
  handle(env: EventEnvelope): void {
    for (const cr of this.rulesFor(env.type)) {
      try {
        this.evaluate(cr, env);
      } catch (err) {
        this.o.log.error(
          { err: errorMessage(err), rule: cr.rule.id, event: env.id },
          'rule evaluation failed',
        );
      }
    }
  }

  private rulesFor(type: string): CompiledRule[] {
    let l = this.ruleCache.get(type);
    if (!l) {
      l = this.o.rules.filter((r) => typeMatches(r.types, type) || typeMatches(r.clearTypes, type));
      if (this.ruleCache.size > 10_000) this.ruleCache.clear();
      this.ruleCache.set(type, l);
    }
    return l;
  }

  private evaluate(cr: CompiledRule, env: EventEnvelope): void {
    const r = cr.rule;
    if (!selectorMatches(r.match.devices, env.device)) return;
    const subject = subjectOf(r.subject, env.device);
    const key = alarmKey(r.id, subject);
    const isMatchType = typeMatches(cr.types, env.type);
    if (env.historical) {
      // Reported late by the device: it says what happened, not what is happening now. It raises
      // nothing, joins no window, clears nothing; a match is recorded, without linkage.
      if (!isMatchType || !whereMatches(r.match.where, env.data)) return;
      const trigger = { eventId: env.id, type: env.type, deviceTime: env.deviceTime };
      this.suppress(r.id, subject, env.device, trigger, { reason: 'historical' });
      return;
    }
    if (isMatchType && whereMatches(r.match.where, env.data)) {
      this.onTrue(cr, key, subject, env);
      return;
    }
    // The condition does not hold (any more): a pending `for` timer is cancelled.
    if (isMatchType) this.timers.cancel(key, env);
    const clears =
      r.clear === 'condition'
        ? isMatchType
        : typeof r.clear === 'object' &&
          typeMatches(cr.clearTypes, env.type) &&
          whereMatches(r.clear.where, env.data);
    if (!clears) return;
    this.timers.cancel(key, env);
    const a = this.alarms.atKey(key);
    if (a && !a.latch) {
      this.lifecycle.end(a, 'cleared', undefined, { eventId: env.id, type: env.type });
    }
  }

  private onTrue(cr: CompiledRule, key: string, subject: string, env: EventEnvelope): void {
    const t = triggerOf(env);
    const now = this.o.clock.now();
    const r = cr.rule;
    const maint = this.maintenanceOf(t.device, now);
    if (maint) {
      // Suppressed: recorded once per maintenance window, no alarm, no notification, no linkage.
      const until = Date.parse(maint.until);
      if (this.suppressed.get(key) !== until) {
        this.suppressed.set(key, until);
        const trigger = { eventId: t.eventId, type: t.type };
        this.suppress(r.id, subject, t.device, trigger, { reason: 'maintenance', maintenance: maint });
      }
      return;
    }
    const a = this.alarms.atKey(key);
    if (a) {
      this.lifecycle.repeat(a, t, env);
      return;
    }
    let devices = [t.device.id];
    if (cr.windowMs !== undefined && r.count) {
      const w = this.windows.add(key, env, now, cr.windowMs);
      devices = [...new Set(w.map((e) => e.deviceId))];
      const n = r.count.distinctDevices ? devices.length : w.length;
      if (n < r.count.n) return;
      const including = r.count.including;
      if (including && !devices.some((id) => selectorMatches(including, this.o.devices.get(id) ?? t.device))) return;
    }
    if (cr.forMs !== undefined) {
      if (this.timers.has(key)) return;
      this.timers.start(
        {
          key,
          rule: r.id,
          subject,
          startedAt: now,
          dueAt: now + cr.forMs,
          trigger: JSON.stringify({ t, devices }),
        },
        env,
      );
      return;
    }
    this.lifecycle.raise(cr, subject, t, devices);
  }

  /** Records that a rule's condition was met without raising an alarm (`alarm.suppressed`). */
  private suppress(
    rule: string,
    subject: string,
    device: DeviceRef,
    trigger: { eventId: string; type: string; deviceTime?: string | null },
    why: Record<string, unknown>,
  ): void {
    this.o.ingest({
      deviceId: device.id,
      type: 'alarm.suppressed',
      kind: 'alarm',
      severity: 'info',
      receivedAt: new Date(this.o.clock.now()),
      data: { rule, subject, trigger, ...why },
    });
  }

  private firePending(p: PendingTimer): void {
    const key = p.key;
    const cr = this.rulesById.get(p.rule);
    const { t, devices } = JSON.parse(p.trigger) as { t: Trigger; devices: string[] };
    if (!cr || this.alarms.hasKey(key)) {
      this.o.store.deletePending(this.o.store.direct, key);
      return;
    }
    // The pending row is deleted in the transaction that stores `alarm.raised`: never lost, never twice.
    this.lifecycle.raise(cr, p.subject, t, devices, (tx) => this.o.store.deletePending(tx, key));
  }

  private maintenanceOf(d: DeviceRef, now: number): MaintenanceWindow | undefined {
    return this.o.maintenance?.find(
      (m) => selectorMatches(m.devices, d) && Date.parse(m.from) <= now && now < Date.parse(m.until),
    );
  }
}
