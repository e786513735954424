/**
 * The alarm lifecycle: raise, repeat, acknowledge, resolve, clear and escalate, each kept in the
 * alarm's history and reported as an `alarm.*` event. An unacknowledged alarm escalates through
 * the notification tiers; the wait between two tiers is measured on the engine clock from the
 * previous tier.
 */
import { v7 as uuidv7 } from 'uuid';
import { type Alarm, alarmKey, type LifecycleResult, type Person } from '../core/alarm-types.js';
import type { EventEnvelope } from '../core/envelope.js';
import type { ActiveAlarms } from './active-alarms.js';
import type { TimerHandle } from '../core/clock.js';
import type { CountWindows } from './count-windows.js';
import type { StateWrite, TransitionReporter } from './durable-transitions.js';
import { type ActionOn, type AlarmEngineOptions, iso, type Trigger } from './engine-types.js';
import { renderTemplate } from './match.js';
import type { CompiledRule } from './rule-set.js';

export class AlarmLifecycle {
  private readonly escalations = new Map<string, TimerHandle>();

  constructor(
    private readonly o: AlarmEngineOptions,
    private readonly alarms: ActiveAlarms,
    private readonly windows: CountWindows,
    private readonly report: TransitionReporter,
    private readonly isStopped: () => boolean,
    /** Runs an alarm's linkage actions: those `on: raise` when it is raised, `on: resolve` when it ends. */
    private readonly runActions: (a: Alarm, on: ActionOn) => void,
  ) {}

  /** Loads the active alarms of an earlier run and re-arms their escalations. */
  load(): void {
    for (const a of this.o.store.loadActive()) {
      this.alarms.add(a);
      if (a.state === 'raised' && a.nextEscalationAt !== undefined) this.armEscalation(a);
    }
  }

  stop(): void {
    for (const t of this.escalations.values()) t.cancel();
    this.escalations.clear();
  }

  raise(cr: CompiledRule, subject: string, t: Trigger, devices: string[], alsoWrite?: StateWrite): Alarm {
    const now = this.o.clock.now();
    const r = cr.rule;
    const key = alarmKey(r.id, subject);
    const tiers = this.o.tiers;
    const alarm: Alarm = {
      id: uuidv7(),
      rule: r.id,
      subject,
      severity: r.severity,
      message: renderTemplate(r.message ?? `${r.id}: {device.id}`, {
        device: t.device,
        data: t.data,
        subject,
        rule: r.id,
        count: 1,
      }),
      state: 'raised',
      active: true,
      count: 1,
      latch: r.latch,
      device: t.device,
      devices,
      trigger: { eventId: t.eventId, type: t.type, receivedAt: t.receivedAt, data: t.data },
      raisedAt: iso(now),
      updatedAt: iso(now),
      tier: 0,
      tierName: tiers[0]?.name ?? 'duty',
      history: [{ at: iso(now), what: 'raised', detail: { eventId: t.eventId, type: t.type, devices } }],
    };
    if (r.escalate && tiers.length > 1) alarm.nextEscalationAt = now + tiers[1]!.afterMs;
    this.alarms.add(alarm);
    this.windows.drop(key);
    const hadWindow = cr.windowMs !== undefined;
    this.report.emit(alarm, 'alarm.raised', {}, undefined, (tx) => {
      alsoWrite?.(tx);
      if (hadWindow) this.o.store.clearWindow(tx, key);
    });
    if (alarm.nextEscalationAt !== undefined) this.armEscalation(alarm);
    this.o.hooks?.notify?.(alarm, 0);
    this.runActions(alarm, 'raise');
    return alarm;
  }

  /** `cause`: the event whose match repeats the alarm, if an event did (its commit carries the write). */
  repeat(a: Alarm, t: Trigger, cause?: EventEnvelope): void {
    const now = this.o.clock.now();
    a.count += 1;
    a.updatedAt = iso(now);
    if (!a.devices.includes(t.device.id)) a.devices.push(t.device.id);
    // Telemetry repeats are counted silently, written with the reading's commit: a detector in alarm
    // sends a reading a poll, and a commit of its own on the event loop would be an fsync each.
    // Other repeats are reported (alarm lane).
    if (t.kind === 'telemetry') {
      if (cause) this.report.saveWith(cause, a);
      else this.o.store.saveAlarm(this.o.store.direct, a);
      return;
    }
    this.report.addHistory(a, {
      at: iso(now),
      what: 'repeated',
      detail: { eventId: t.eventId, type: t.type, device: t.device.id },
    });
    this.report.emit(a, 'alarm.repeated', {
      repeat: { eventId: t.eventId, type: t.type, device: t.device.id },
    });
  }

  acknowledge(id: string, by: string, note?: string): LifecycleResult {
    const a = this.alarms.byId(id);
    if (!a) return { ok: false, error: `no active alarm ${id}` };
    if (a.state === 'acknowledged')
      return { ok: false, error: `already acknowledged by ${a.acknowledged?.by} at ${a.acknowledged?.at}` };
    const now = this.o.clock.now();
    const person: Person = { by, at: iso(now), ...(note ? { note } : {}) };
    a.state = 'acknowledged';
    a.acknowledged = person;
    a.nextEscalationAt = undefined;
    this.escalations.get(a.id)?.cancel();
    this.escalations.delete(a.id);
    this.report.addHistory(a, { at: person.at, what: 'acknowledged', by, ...(note ? { note } : {}) });
    this.report.emit(a, 'alarm.acknowledged', { by, ...(note ? { note } : {}) });
    return { ok: true, alarm: a };
  }

  resolve(id: string, by: string, note?: string): LifecycleResult {
    const a = this.alarms.byId(id);
    if (!a) return { ok: false, error: `no active alarm ${id}` };
    const now = this.o.clock.now();
    this.end(a, 'resolved', { by, at: iso(now), ...(note ? { note } : {}) });
    return { ok: true, alarm: a };
  }

  /** Ends an alarm: resolved by a person, or cleared by an event (`cause`); then its `on: resolve` actions run. */
  end(a: Alarm, state: 'resolved' | 'cleared', person?: Person, cause?: { eventId: string; type: string }): void {
    const now = this.o.clock.now();
    a.state = state;
    a.active = false;
    a.nextEscalationAt = undefined;
    if (person) a.resolved = person;
    this.escalations.get(a.id)?.cancel();
    this.escalations.delete(a.id);
    this.alarms.remove(a);
    this.report.addHistory(a, {
      at: iso(now),
      what: state,
      ...(person ? { by: person.by, ...(person.note ? { note: person.note } : {}) } : {}),
      ...(cause ? { detail: cause } : {}),
    });
    this.report.emit(
      a,
      state === 'cleared' ? 'alarm.cleared' : 'alarm.resolved',
      person ? { by: person.by, ...(person.note ? { note: person.note } : {}) } : { cause },
      'info',
    );
    this.runActions(a, 'resolve');
  }

  /** Records a notification outcome (from the notifier) in the alarm's history and as an event. */
  recordNotification(
    alarmId: string,
    detail: { channel: string; ok: boolean; attempts: number; error?: string; to?: string[] },
  ): void {
    const a = this.alarms.byId(alarmId) ?? this.o.store.get(alarmId);
    if (!a) return;
    this.report.addHistory(a, { at: iso(this.o.clock.now()), what: 'notified', detail });
    this.report.emit(a, 'alarm.notified', { notification: detail }, detail.ok ? 'info' : undefined);
  }

  private armEscalation(a: Alarm): void {
    if (a.nextEscalationAt === undefined) return;
    this.escalations.get(a.id)?.cancel();
    const timer = this.o.clock.after(Math.max(0, a.nextEscalationAt - this.o.clock.now()), () =>
      this.escalate(a.id),
    );
    this.escalations.set(a.id, timer);
  }

  private escalate(id: string): void {
    this.escalations.delete(id);
    const a = this.alarms.byId(id);
    if (a?.state !== 'raised' || this.isStopped()) return;
    const tiers = this.o.tiers;
    const next = a.tier + 1;
    const tier = tiers[next];
    if (!tier) return;
    const now = this.o.clock.now();
    a.tier = next;
    a.tierName = tier.name;
    const following = tiers[next + 1];
    // The wait between two tiers is a duration from now, not from raisedAt: a wall-clock step between
    // tiers must not move the next escalation.
    a.nextEscalationAt = following ? now + following.afterMs - tier.afterMs : undefined;
    this.report.addHistory(a, { at: iso(now), what: 'escalated', detail: { tier: next, tierName: tier.name } });
    this.report.emit(a, 'alarm.escalated', { tier: next, tierName: tier.name });
    this.o.hooks?.notify?.(a, next);
    this.armEscalation(a);
  }
}
