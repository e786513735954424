/** The active alarms in memory: at most one per rule and subject, also found by alarm id. */
import { type Alarm, alarmKey } from '../core/alarm-types.js';

export class ActiveAlarms {
  private readonly byKey = new Map<string, Alarm>();
  private readonly byAlarmId = new Map<string, Alarm>();

  add(a: Alarm): void {
    this.byKey.set(alarmKey(a.rule, a.subject), a);
    this.byAlarmId.set(a.id, a);
  }

  remove(a: Alarm): void {
    this.byKey.delete(alarmKey(a.rule, a.subject));
    this.byAlarmId.delete(a.id);
  }

  /** The active alarm of a rule and subject (key from `alarmKey`). */
  atKey(key: string): Alarm | undefined {
    return this.byKey.get(key);
  }

  hasKey(key: string): boolean {
    return this.byKey.has(key);
  }

  byId(id: string): Alarm | undefined {
    return this.byAlarmId.get(id);
  }

  get size(): number {
    return this.byKey.size;
  }

  /** Oldest first. */
  sorted(): Alarm[] {
    return [...this.byKey.values()].sort((a, b) => a.raisedAt.localeCompare(b.raisedAt));
  }
}
