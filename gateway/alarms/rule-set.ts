/**
 * The effective rule set of a site: the built-in rules (those of the registered families and
 * the generic ones, minus `alarms.disable`, each replaced by a site rule of the same id), then
 * the site's own rules. Parsed once, compiled for fast matching.
 */

import { parseDuration } from '../core/time.js';
import type { AnyFamily } from '../devices/driver-api.js';
import { builtinRules, LINKAGE_FAILED_RULE } from './builtin-rules.js';
import { typePatterns } from './match.js';
import { Severity } from '../core/envelope.js';
import { Action, type AlarmsConfig, Rule } from '../core/rule-schema.js';

export interface CompiledRule {
  rule: Rule;
  builtin: boolean;
  types: string[];
  clearTypes: string[];
  forMs?: number;
  windowMs?: number;
  actionTimeoutMs: number[];
}

export function effectiveRules(
  alarms: AlarmsConfig,
  siteRules: readonly Rule[],
  families: readonly AnyFamily[],
): CompiledRule[] {
  const siteIds = new Set(siteRules.map((r) => r.id));
  const out: CompiledRule[] = [];
  const linked = (r: Rule) => withAlarmLinkage(r, families);
  if (alarms.builtinRules) {
    for (const input of builtinRules(families)) {
      if (alarms.disable.includes(input.id) || siteIds.has(input.id)) continue;
      out.push(compile(linked(Rule.parse(input)), true));
    }
  }
  for (const r of siteRules) if (r.enabled && r.id !== LINKAGE_FAILED_RULE.id) out.push(compile(linked(r), false));
  return out;
}

/** The rule with the families' linkage on every alarm of its severity appended (unless it opts out). */
function withAlarmLinkage(rule: Rule, families: readonly AnyFamily[]): Rule {
  if (!rule.alarmLinkage) return rule;
  const rank = Severity.options.indexOf(rule.severity);
  const extra = families.flatMap((f) =>
    f.alarmLinkage && rank >= Severity.options.indexOf(f.alarmLinkage.minSeverity)
      ? f.alarmLinkage.actions.map((a) => Action.parse(a))
      : [],
  );
  return extra.length ? { ...rule, actions: [...rule.actions, ...extra] } : rule;
}

/** The rule used for failed linkage actions: the site's override of `linkage-failed`, or the built-in. */
export function linkageFailedRule(siteRules: readonly Rule[]): CompiledRule {
  const site = siteRules.find((r) => r.id === LINKAGE_FAILED_RULE.id);
  return compile(site ?? Rule.parse(LINKAGE_FAILED_RULE), !site);
}

export function compile(rule: Rule, builtin: boolean): CompiledRule {
  return {
    rule,
    builtin,
    types: typePatterns(rule.match.type),
    clearTypes:
      typeof rule.clear === 'object'
        ? typePatterns(rule.clear.type)
        : rule.clear === 'condition'
          ? typePatterns(rule.match.type)
          : [],
    forMs: rule.for ? parseDuration(rule.for) : undefined,
    windowMs: rule.count ? parseDuration(rule.count.within) : undefined,
    actionTimeoutMs: rule.actions.map((a) => parseDuration(a.timeout)),
  };
}
