/** `gateway alarms` and `gateway rules`: what the alarm engine holds, and the rule set a site runs. */
import { DEFINITIONS } from '../../drivers/index.js';
import { Journal } from '../journal/journal.js';
import { AlarmStore } from './alarm-store.js';
import type { AlarmsConfig, Rule } from '../core/rule-schema.js';
import { effectiveRules } from './rule-set.js';

/** Active alarms (and, with `recent`, the last ended ones) from the gateway's database. */
export function alarmsReport(
  journal: { path: string; synchronous: 'FULL' | 'NORMAL' },
  recent: number,
  json: boolean,
): string {
  const j = new Journal({ ...journal, retention: { maxAgeDays: 36500, maxSizeMB: 1e9 } });
  try {
    const store = new AlarmStore(j.db);
    const active = store.loadActive();
    const ended = recent
      ? store
          .recent(recent + active.length)
          .filter((a) => !a.active)
          .slice(0, recent)
      : [];
    const pending = store.loadPending();
    if (json) return JSON.stringify({ active, pending, ended }, null, 2);
    const line = (a: (typeof active)[number]) =>
      `${a.raisedAt}  ${a.severity.padEnd(8)} ${a.state.padEnd(12)} x${String(a.count).padEnd(4)} ${a.rule.padEnd(22)} ${a.subject.padEnd(20)} ${a.message}${a.acknowledged ? `  (ack ${a.acknowledged.by})` : ''}${a.resolved ? `  (resolved by ${a.resolved.by})` : ''}`;
    const out = [`${active.length} active alarm${active.length === 1 ? '' : 's'}`, ...active.map(line)];
    if (pending.length) {
      out.push(`${pending.length} pending \`for\` timer${pending.length === 1 ? '' : 's'}`);
      for (const p of pending)
        out.push(`  ${p.rule} ${p.subject} fires at ${new Date(p.dueAt).toISOString()}`);
    }
    if (recent) out.push(`last ${ended.length} ended`, ...ended.map(line));
    return out.join('\n');
  } finally {
    j.close();
  }
}

/** The effective rule set: built-ins (minus disabled and overridden ones) and the site's rules. */
export function rulesReport(cfg: { alarms: AlarmsConfig; rules: readonly Rule[] }, json: boolean): string {
  const rules = effectiveRules(cfg.alarms, cfg.rules, DEFINITIONS);
  if (json)
    return JSON.stringify(
      rules.map((r) => ({ builtin: r.builtin, ...r.rule })),
      null,
      2,
    );
  return rules
    .map((r) => {
      const x = r.rule;
      const extra = [
        x.for && `for ${x.for}`,
        x.count && `${x.count.n}${x.count.distinctDevices ? ' devices' : ''} within ${x.count.within}`,
        `clear ${typeof x.clear === 'string' ? x.clear : `on ${[x.clear.type].flat().join('|')}`}`,
        x.latch && 'latch',
        x.actions.some((a) => a.on === 'raise') &&
          `actions ${x.actions.filter((a) => a.on === 'raise').map((a) => `${a.command}@${a.target.scope}`).join(', ')}`,
        x.actions.some((a) => a.on === 'resolve') &&
          `on resolve ${x.actions.filter((a) => a.on === 'resolve').map((a) => `${a.command}@${a.target.scope}`).join(', ')}`,
      ].filter(Boolean);
      return `${(r.builtin ? 'built-in' : 'site').padEnd(9)} ${x.id.padEnd(22)} ${x.severity.padEnd(8)} ${[x.match.type].flat().join('|')} per ${x.subject}; ${extra.join('; ')}`;
    })
    .join('\n');
}
