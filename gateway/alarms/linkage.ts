/**
 * Linkage: an alarm's actions (e.g. close the gas valve, hold the gates open) are sent as commands
 * through the command path to the devices in the action's scope (trigger, zone, building, site, or
 * the watchers: cameras with the alarm's devices in view):
 * the `raise` actions when it is raised, the `resolve` actions when it ends (resolved or
 * cleared). Each outcome is kept in the alarm's history and reported as `alarm.action`; a failed
 * or unanswered command raises the `linkage-failed` alarm of its target device (critical,
 * cleared only by a person). A resolve action skips (and records) a device that a raise action
 * of another active alarm still holds.
 */
import { type Alarm, alarmKey } from '../core/alarm-types.js';
import type { DeviceRef } from '../core/envelope.js';
import { errorMessage } from '../core/errors.js';
import { watchesDevice } from '../core/watches.js';
import type { ActiveAlarms } from './active-alarms.js';
import type { AlarmLifecycle } from './alarm-lifecycle.js';
import type { TransitionReporter } from './durable-transitions.js';
import { type ActionOn, type ActionOutcome, type AlarmEngineOptions, iso, type Trigger } from './engine-types.js';
import { fillArgs, selectorMatches } from './match.js';
import type { CompiledRule } from './rule-set.js';

export class Linkage {
  constructor(
    private readonly o: AlarmEngineOptions,
    private readonly alarms: ActiveAlarms,
    private readonly lifecycle: AlarmLifecycle,
    private readonly report: TransitionReporter,
    private readonly isStopped: () => boolean,
    private readonly ruleOf: (ruleId: string) => CompiledRule | undefined,
  ) {}

  /**
   * Sends every action of the rule for this moment (`raise` or `resolve`) to each of its targets,
   * the same command with the same arguments once per device; does not wait for the answers.
   */
  run(cr: CompiledRule, a: Alarm, on: ActionOn): void {
    const sent = new Set<string>();
    // Undoing (on resolve) must not take a device from another alarm still active: resolving one
    // building's fire leaves the exit gates open while another building burns, and a siren on
    // while an emergency button of its zone is still latched.
    const held = on === 'resolve' ? this.heldByActiveAlarms() : new Map<string, Alarm>();
    cr.rule.actions.forEach((action, k) => {
      if (action.on !== on) return;
      const args = fillArgs(action.args, a.trigger.data, a.device);
      for (const target of this.targetsOf(action, a)) {
        const once = JSON.stringify([target, action.command, args]);
        if (sent.has(once)) continue;
        sent.add(once);
        const holder = held.get(target);
        if (holder) {
          this.record(a, {
            alarmId: a.id,
            rule: a.rule,
            on,
            command: action.command,
            target,
            outcome: 'skipped',
            error: `still held by active alarm ${holder.rule} (${holder.subject})`,
          });
          continue;
        }
        const timeoutMs = cr.actionTimeoutMs[k] ?? 5000;
        void this.runAction(a, { on, command: action.command, args, target, timeoutMs });
      }
    });
  }

  /** Devices a raise action of an active alarm targets, with that alarm. */
  private heldByActiveAlarms(): Map<string, Alarm> {
    const held = new Map<string, Alarm>();
    for (const b of this.alarms.sorted()) {
      for (const action of this.ruleOf(b.rule)?.rule.actions ?? []) {
        if (action.on !== 'raise') continue;
        for (const target of this.targetsOf(action, b)) if (!held.has(target)) held.set(target, b);
      }
    }
    return held;
  }

  private targetsOf(action: CompiledRule['rule']['actions'][number], a: Alarm): string[] {
    const scope = action.target.scope;
    const trig = a.device;
    let candidates: DeviceRef[];
    if (scope === 'trigger')
      candidates = a.devices.map((id) => this.o.devices.get(id)).filter((d): d is DeviceRef => !!d);
    else if (scope === 'watchers') {
      const watched = a.devices.map((id) => this.o.devices.get(id)).filter((d): d is DeviceRef => !!d);
      candidates = [...(this.o.watches ?? [])]
        .filter(([, w]) => watched.some((d) => watchesDevice(w, d)))
        .map(([id]) => this.o.devices.get(id))
        .filter((d): d is DeviceRef => !!d);
    } else {
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
    { on, command, args, target, timeoutMs }: { on: ActionOn; command: string; args: unknown; target: string; timeoutMs: number },
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
              on,
              command,
              target,
              outcome: 'timeout',
              error: `no answer within ${timeoutMs} ms`,
            }
          : res.ok
            ? {
                alarmId: a.id,
                rule: a.rule,
                on,
                command,
                target,
                outcome: 'ok',
                ...(res.data ? { data: res.data } : {}),
              }
            : { alarmId: a.id, rule: a.rule, on, command, target, outcome: 'failed', error: res.error };
    } catch (err) {
      outcome = { alarmId: a.id, rule: a.rule, on, command, target, outcome: 'failed', error: errorMessage(err) };
    } finally {
      clearTimeout(timer);
    }
    this.record(a, outcome);
  }

  /** Keeps an action's outcome in the alarm's history, reports it, and raises `linkage-failed` on a failure. */
  private record(a: Alarm, outcome: ActionOutcome): void {
    this.o.hooks?.actionDone?.(outcome);
    if (this.isStopped()) return;
    const { alarmId: _a, rule: _r, ...detail } = outcome;
    const latest = this.alarms.byId(a.id) ?? a;
    this.report.addHistory(latest, { at: iso(this.o.clock.now()), what: 'action', detail });
    const fine = outcome.outcome === 'ok' || outcome.outcome === 'skipped';
    this.report.emit(latest, 'alarm.action', { action: detail }, fine ? 'info' : undefined);
    if (!fine) {
      this.o.log.error(
        { alarm: a.id, rule: a.rule, on: outcome.on, command: outcome.command, target: outcome.target, outcome: outcome.outcome, err: outcome.error },
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
        on: o.on,
        command: o.command,
        target: o.target,
        outcome: o.outcome,
        error: o.error,
      },
      device,
    };
    const subject = device.id;
    const existing = this.alarms.atKey(alarmKey(this.o.linkageFailed.rule.id, subject));
    if (existing) this.lifecycle.repeat(existing, t);
    else this.lifecycle.raise(this.o.linkageFailed, subject, t, [device.id]);
  }
}
