/**
 * The local alarm engine. Evaluates every committed event against the rules,
 * keeps one active alarm per rule and subject, runs `for` timers, sliding windows and
 * escalation, sends linkage commands through the command executor, and reports every
 * transition as an `alarm.*` event (kind `alarm`) through the pipeline, so it is journaled,
 * published on the local bus, shown on the feed and sent to the city in the alarm lane.
 *
 * Durability: a transition's state change is written inside the journal transaction that
 * stores its event (journal tx hook), so after a crash either both exist or neither; pending
 * `for` timers and window entries are written when they start. After a restart the engine
 * reloads them and fires a pending timer at its original due time (at once if already due),
 * exactly once.
 */
import { v7 as uuidv7 } from 'uuid';
import type { Execute } from '../commands/commands.js';
import type { DeviceEvent, DeviceRef, EventEnvelope, EventKind, Severity } from '../core/envelope.js';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Journal } from '../journal/journal.js';
import type { AlarmStore, PendingTimer, WindowEntry } from './alarm-store.js';
import { type Alarm, type AlarmHistoryEntry, alarmKey, HISTORY_LIMIT, type Person } from './alarm-types.js';
import type { Clock, TimerHandle } from './clock.js';
import { renderTemplate, selectorMatches, subjectOf, typeMatches, whereMatches } from './match.js';
import type { MaintenanceWindow } from './rule-schema.js';
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

export interface ActionOutcome {
  alarmId: string;
  rule: string;
  command: string;
  target: string;
  outcome: 'ok' | 'failed' | 'timeout';
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
  execute: Execute;
  tiers: readonly EngineTier[];
  maintenance?: readonly MaintenanceWindow[];
  clock: Clock;
  log: Logger;
  hooks?: AlarmEngineHooks;
}

export type LifecycleResult = { ok: true; alarm: Alarm } | { ok: false; error: string };

const iso = (ms: number) => new Date(ms).toISOString();

export class AlarmEngine {
  private readonly active = new Map<string, Alarm>();
  private readonly byId = new Map<string, Alarm>();
  private readonly pending = new Map<string, { p: PendingTimer; timer: TimerHandle }>();
  /** Count windows; `mono` is the entry's monotonic time, so a wall-clock step does not move it. */
  private readonly windows = new Map<string, (WindowEntry & { mono: number })[]>();
  private readonly escalations = new Map<string, TimerHandle>();
  private readonly suppressed = new Map<string, number>();
  private readonly writes = new Map<string, () => void>();
  private readonly ruleCache = new Map<string, CompiledRule[]>();
  private readonly rulesById: Map<string, CompiledRule>;
  private started = false;
  private stopped = false;
  /** Events committed before `start` (drivers may start first): evaluated once state is loaded. */
  private early: EventEnvelope[] = [];

  constructor(private readonly o: AlarmEngineOptions) {
    this.rulesById = new Map([...o.rules, o.linkageFailed].map((r) => [r.rule.id, r]));
    // State changes commit in the same transaction as the event that reports them.
    o.journal.addTxHook((rows) => {
      for (const { env } of rows) {
        const w = this.writes.get(env.id);
        if (!w) continue;
        try {
          w();
        } catch (err) {
          this.o.log.error({ err: errorMessage(err), event: env.id }, 'alarm state write failed');
        }
      }
    });
  }

  /** Loads active alarms, pending timers and windows from the database and re-arms the timers. */
  start(): void {
    if (this.started) return;
    this.started = true;
    for (const a of this.o.store.loadActive()) {
      this.active.set(alarmKey(a.rule, a.subject), a);
      this.byId.set(a.id, a);
      if (a.state === 'raised' && a.nextEscalationAt !== undefined) this.armEscalation(a);
    }
    // Entries of an earlier run carry wall time only: place them on this run's monotonic clock.
    const wallToMono = this.o.clock.elapsed() - this.o.clock.now();
    for (const [key, entries] of this.o.store.loadWindows())
      this.windows.set(
        key,
        entries.map((e) => ({ ...e, mono: e.at + wallToMono })),
      );
    for (const p of this.o.store.loadPending()) {
      if (!this.rulesById.has(p.rule)) {
        this.o.store.deletePending(p.key);
        continue;
      }
      this.armPending(p);
    }
    this.o.log.info(
      { active: this.active.size, pending: this.pending.size, rules: this.o.rules.length },
      'alarm engine started',
    );
    const early = this.early;
    this.early = [];
    for (const env of early) this.handle(env);
  }

  stop(): void {
    this.stopped = true;
    for (const { timer } of this.pending.values()) timer.cancel();
    for (const t of this.escalations.values()) t.cancel();
    this.pending.clear();
    this.escalations.clear();
  }

  // ---- queries ------------------------------------------------------------------------------

  activeAlarms(): Alarm[] {
    return [...this.active.values()].sort((a, b) => a.raisedAt.localeCompare(b.raisedAt));
  }

  get(id: string): Alarm | undefined {
    return this.byId.get(id) ?? this.o.store.get(id);
  }

  pendingTimers(): PendingTimer[] {
    return [...this.pending.values()].map((x) => x.p);
  }

  get rules(): readonly CompiledRule[] {
    return this.o.rules;
  }

  // ---- events -------------------------------------------------------------------------------

  /** Called with every committed event: its state write (if any) is done. */
  committed(env: EventEnvelope): void {
    if (this.writes.size) this.writes.delete(env.id);
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
    if (isMatchType && whereMatches(r.match.where, env.data)) {
      this.onTrue(cr, key, subject, triggerOf(env));
      return;
    }
    // The condition does not hold (any more): a pending `for` timer is cancelled.
    if (isMatchType) this.cancelPending(key);
    const clears =
      r.clear === 'condition'
        ? isMatchType
        : typeof r.clear === 'object' &&
          typeMatches(cr.clearTypes, env.type) &&
          whereMatches(r.clear.where, env.data);
    if (!clears) return;
    this.cancelPending(key);
    const a = this.active.get(key);
    if (a && !a.latch) {
      this.end(a, 'cleared', undefined, { eventId: env.id, type: env.type });
    }
  }

  private onTrue(cr: CompiledRule, key: string, subject: string, t: Trigger): void {
    const now = this.o.clock.now();
    const r = cr.rule;
    const maint = this.maintenanceOf(t.device, now);
    if (maint) {
      // Suppressed: recorded once per maintenance window, no alarm, no notification, no linkage.
      const until = Date.parse(maint.until);
      if (this.suppressed.get(key) !== until) {
        this.suppressed.set(key, until);
        this.o.ingest({
          deviceId: t.device.id,
          type: 'alarm.suppressed',
          kind: 'alarm',
          severity: 'info',
          receivedAt: new Date(now),
          data: { rule: r.id, subject, trigger: { eventId: t.eventId, type: t.type }, maintenance: maint },
        });
      }
      return;
    }
    const a = this.active.get(key);
    if (a) {
      this.repeat(a, t);
      return;
    }
    let devices = [t.device.id];
    if (cr.windowMs !== undefined && r.count) {
      const mono = this.o.clock.elapsed();
      const w = (this.windows.get(key) ?? []).filter((e) => e.mono >= mono - cr.windowMs!);
      const entry = { deviceId: t.device.id, at: now, mono };
      w.push(entry);
      this.windows.set(key, w);
      this.o.store.addWindow(key, entry, Math.min(...w.map((e) => e.at)));
      devices = [...new Set(w.map((e) => e.deviceId))];
      const n = r.count.distinctDevices ? devices.length : w.length;
      if (n < r.count.n) return;
    }
    if (cr.forMs !== undefined) {
      if (this.pending.has(key)) return;
      const p: PendingTimer = {
        key,
        rule: r.id,
        subject,
        startedAt: now,
        dueAt: now + cr.forMs,
        trigger: JSON.stringify({ t, devices }),
      };
      this.o.store.savePending(p);
      this.armPending(p);
      return;
    }
    this.raise(cr, subject, t, devices);
  }

  private armPending(p: PendingTimer): void {
    const timer = this.o.clock.after(Math.max(0, p.dueAt - this.o.clock.now()), () =>
      this.firePending(p.key),
    );
    this.pending.set(p.key, { p, timer });
  }

  private cancelPending(key: string): void {
    const x = this.pending.get(key);
    if (!x) return;
    x.timer.cancel();
    this.pending.delete(key);
    this.o.store.deletePending(key);
  }

  private firePending(key: string): void {
    const x = this.pending.get(key);
    if (!x || this.stopped) return;
    this.pending.delete(key);
    const cr = this.rulesById.get(x.p.rule);
    const { t, devices } = JSON.parse(x.p.trigger) as { t: Trigger; devices: string[] };
    if (!cr || this.active.has(key)) {
      this.o.store.deletePending(key);
      return;
    }
    // The pending row is deleted in the transaction that stores `alarm.raised`: never lost, never twice.
    this.raise(cr, x.p.subject, t, devices, () => this.o.store.deletePending(key));
  }

  // ---- lifecycle ----------------------------------------------------------------------------

  private raise(
    cr: CompiledRule,
    subject: string,
    t: Trigger,
    devices: string[],
    alsoWrite?: () => void,
  ): Alarm {
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
    this.active.set(key, alarm);
    this.byId.set(alarm.id, alarm);
    this.windows.delete(key);
    const hadWindow = cr.windowMs !== undefined;
    this.emit(alarm, 'alarm.raised', {}, undefined, () => {
      alsoWrite?.();
      if (hadWindow) this.o.store.clearWindow(key);
    });
    if (alarm.nextEscalationAt !== undefined) this.armEscalation(alarm);
    this.o.hooks?.notify?.(alarm, 0);
    this.runActions(cr, alarm);
    return alarm;
  }

  private repeat(a: Alarm, t: Trigger): void {
    const now = this.o.clock.now();
    a.count += 1;
    a.updatedAt = iso(now);
    if (!a.devices.includes(t.device.id)) a.devices.push(t.device.id);
    // Telemetry repeats are counted silently; other repeats are reported (alarm lane).
    if (t.kind === 'telemetry') {
      this.o.store.saveAlarm(a);
      return;
    }
    this.addHistory(a, {
      at: iso(now),
      what: 'repeated',
      detail: { eventId: t.eventId, type: t.type, device: t.device.id },
    });
    this.emit(a, 'alarm.repeated', { repeat: { eventId: t.eventId, type: t.type, device: t.device.id } });
  }

  acknowledge(id: string, by: string, note?: string): LifecycleResult {
    const a = this.byId.get(id);
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
    this.addHistory(a, { at: person.at, what: 'acknowledged', by, ...(note ? { note } : {}) });
    this.emit(a, 'alarm.acknowledged', { by, ...(note ? { note } : {}) });
    return { ok: true, alarm: a };
  }

  resolve(id: string, by: string, note?: string): LifecycleResult {
    const a = this.byId.get(id);
    if (!a) return { ok: false, error: `no active alarm ${id}` };
    const now = this.o.clock.now();
    this.end(a, 'resolved', { by, at: iso(now), ...(note ? { note } : {}) });
    return { ok: true, alarm: a };
  }

  private end(
    a: Alarm,
    state: 'resolved' | 'cleared',
    person?: Person,
    cause?: { eventId: string; type: string },
  ): void {
    const now = this.o.clock.now();
    a.state = state;
    a.active = false;
    a.nextEscalationAt = undefined;
    if (person) a.resolved = person;
    this.escalations.get(a.id)?.cancel();
    this.escalations.delete(a.id);
    this.active.delete(alarmKey(a.rule, a.subject));
    this.byId.delete(a.id);
    this.addHistory(a, {
      at: iso(now),
      what: state,
      ...(person ? { by: person.by, ...(person.note ? { note: person.note } : {}) } : {}),
      ...(cause ? { detail: cause } : {}),
    });
    this.emit(
      a,
      state === 'cleared' ? 'alarm.cleared' : 'alarm.resolved',
      person ? { by: person.by, ...(person.note ? { note: person.note } : {}) } : { cause },
      'info',
    );
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
    const a = this.byId.get(id);
    if (a?.state !== 'raised' || this.stopped) return;
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
    this.addHistory(a, { at: iso(now), what: 'escalated', detail: { tier: next, tierName: tier.name } });
    this.emit(a, 'alarm.escalated', { tier: next, tierName: tier.name });
    this.o.hooks?.notify?.(a, next);
    this.armEscalation(a);
  }

  /** Records a notification outcome (from the notifier) in the alarm's history and as an event. */
  recordNotification(
    alarmId: string,
    detail: { channel: string; ok: boolean; attempts: number; error?: string; to?: string[] },
  ): void {
    const a = this.byId.get(alarmId) ?? this.o.store.get(alarmId);
    if (!a) return;
    this.addHistory(a, { at: iso(this.o.clock.now()), what: 'notified', detail });
    this.emit(a, 'alarm.notified', { notification: detail }, detail.ok ? 'info' : undefined);
  }

  // ---- linkage ------------------------------------------------------------------------------

  private runActions(cr: CompiledRule, a: Alarm): void {
    cr.rule.actions.forEach((action, k) => {
      for (const target of this.targetsOf(action, a)) {
        void this.runAction(a, action.command, action.args, target, cr.actionTimeoutMs[k] ?? 5000);
      }
    });
  }

  private targetsOf(action: CompiledRule['rule']['actions'][number], a: Alarm): string[] {
    const scope = action.target.scope;
    const trig = a.device;
    let candidates: DeviceRef[];
    if (scope === 'trigger')
      candidates = a.devices.map((id) => this.o.devices.get(id)).filter((d): d is DeviceRef => !!d);
    else {
      candidates = [...this.o.devices.values()].filter(
        (d) =>
          scope === 'site' ||
          (d.building !== undefined &&
            d.building === trig.building &&
            (scope === 'building' || d.zone === trig.zone)),
      );
    }
    return candidates
      .filter((d) => d.family !== 'gateway' && selectorMatches(action.target.devices, d))
      .map((d) => d.id);
  }

  private async runAction(
    a: Alarm,
    command: string,
    args: unknown,
    target: string,
    timeoutMs: number,
  ): Promise<void> {
    this.o.hooks?.actionSent?.(a, command, target);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    let outcome: ActionOutcome;
    try {
      const res = await Promise.race([this.o.execute(target, command, args), timeout]);
      outcome =
        res === 'timeout'
          ? {
              alarmId: a.id,
              rule: a.rule,
              command,
              target,
              outcome: 'timeout',
              error: `no answer within ${timeoutMs} ms`,
            }
          : res.ok
            ? {
                alarmId: a.id,
                rule: a.rule,
                command,
                target,
                outcome: 'ok',
                ...(res.data ? { data: res.data } : {}),
              }
            : { alarmId: a.id, rule: a.rule, command, target, outcome: 'failed', error: res.error };
    } catch (err) {
      outcome = { alarmId: a.id, rule: a.rule, command, target, outcome: 'failed', error: errorMessage(err) };
    } finally {
      clearTimeout(timer);
    }
    this.o.hooks?.actionDone?.(outcome);
    if (this.stopped) return;
    const { alarmId: _a, rule: _r, ...detail } = outcome;
    const latest = this.byId.get(a.id) ?? a;
    this.addHistory(latest, { at: iso(this.o.clock.now()), what: 'action', detail });
    this.emit(latest, 'alarm.action', { action: detail }, outcome.outcome === 'ok' ? 'info' : undefined);
    if (outcome.outcome !== 'ok') {
      this.o.log.error(
        { alarm: a.id, rule: a.rule, command, target, outcome: outcome.outcome, err: outcome.error },
        'linkage action failed',
      );
      this.linkageFailed(a, outcome);
    }
  }

  /** A failed action raises its own alarm (rule `linkage-failed`), one per target device. */
  private linkageFailed(a: Alarm, o: ActionOutcome): void {
    const device = this.o.devices.get(o.target) ?? a.device;
    const t: Trigger = {
      eventId: a.id,
      type: 'alarm.action',
      kind: 'alarm',
      receivedAt: iso(this.o.clock.now()),
      data: {
        alarm: a.id,
        rule: a.rule,
        command: o.command,
        target: o.target,
        outcome: o.outcome,
        error: o.error,
      },
      device,
    };
    const subject = device.id;
    const existing = this.active.get(alarmKey(this.o.linkageFailed.rule.id, subject));
    if (existing) this.repeat(existing, t);
    else this.raise(this.o.linkageFailed, subject, t, [device.id]);
  }

  // ---- helpers ------------------------------------------------------------------------------

  private maintenanceOf(d: DeviceRef, now: number): MaintenanceWindow | undefined {
    return this.o.maintenance?.find(
      (m) => selectorMatches(m.devices, d) && Date.parse(m.from) <= now && now < Date.parse(m.until),
    );
  }

  private addHistory(a: Alarm, h: AlarmHistoryEntry): void {
    a.history.push(h);
    if (a.history.length > HISTORY_LIMIT) a.history.splice(1, a.history.length - HISTORY_LIMIT);
  }

  /** Reports a transition as an event; its state change is written with the event's commit. */
  private emit(
    a: Alarm,
    type: string,
    extra: Record<string, unknown>,
    severity?: Severity,
    alsoWrite?: () => void,
  ): void {
    const now = this.o.clock.now();
    a.updatedAt = iso(now);
    const body = JSON.stringify(a);
    const snapshot = { ...a };
    const write = () => {
      this.o.store.saveAlarm(snapshot, body);
      alsoWrite?.();
    };
    const env = this.o.ingest({
      deviceId: a.device.id,
      type,
      kind: 'alarm',
      severity: severity ?? a.severity,
      receivedAt: new Date(now),
      data: { alarm: summary(a), ...extra },
    });
    if (env) this.writes.set(env.id, write);
    else write();
    this.o.hooks?.transition?.(type, a);
  }
}

function triggerOf(env: EventEnvelope): Trigger {
  return {
    eventId: env.id,
    type: env.type,
    kind: env.kind,
    receivedAt: env.receivedAt,
    data: env.data,
    device: env.device,
  };
}

/** The alarm as carried in `alarm.*` events and on the feed (without its history). */
export function summary(a: Alarm): Omit<Alarm, 'history'> {
  const { history: _h, ...rest } = a;
  return rest;
}
