/**
 * Checks of the alarm and notification config against the driver registry, for
 * `gateway check-config`: unknown families, event types a family never emits, actions the
 * target family cannot perform (not in its `commands`) or with bad arguments, messages that would
 * show the city personal data, references to unknown rules, tiers and channels. Each problem
 * carries its path in the site file.
 */
import { GENERIC_EVENT_TYPES } from '../core/gateway-events.js';
import type { AnyFamily } from '../devices/driver-api.js';
import type { z } from 'zod';
import type { NotifyConfig } from '../notify/notify-schema.js';
import { builtinRules, LINKAGE_FAILED_RULE } from './builtin-rules.js';
import { isEventArg, selectorFamilies, typeMatches, typePatterns } from './match.js';
import type { AlarmsConfig, Rule, Selector } from '../core/rule-schema.js';

/**
 * The first `{data.<key>}` of a rule's message that the matched event types name as personal data,
 * and where it is named; undefined when there is none.
 */
export function personalInMessage(
  r: Pick<Rule, 'message' | 'match'>,
  families: readonly AnyFamily[],
): { key: string; where: string } | undefined {
  if (!r.message) return undefined;
  const types = typePatterns(r.match.type);
  for (const m of r.message.matchAll(/\{data\.([A-Za-z0-9_]+)/g)) {
    const key = m[1]!;
    for (const f of families)
      for (const [type, spec] of Object.entries(f.events))
        if (typeMatches(types, type) && spec.personal?.includes(key)) return { key, where: `${f.family} ${type}` };
  }
  return undefined;
}

export interface RuleProblem {
  rawPath: (string | number)[];
  message: string;
}

export function checkAlarmConfig(
  cfg: {
    rules: readonly Rule[];
    alarms: AlarmsConfig;
    notify: NotifyConfig;
    privacy?: { personalData: string };
  },
  families: readonly AnyFamily[],
): RuleProblem[] {
  const problems: RuleProblem[] = [];
  const byFamily = new Map(families.map((d) => [d.family, d]));
  const known = [...byFamily.keys()].join(', ') || 'none';

  const familiesAt = (sel: Selector | undefined, path: (string | number)[]): string[] | undefined => {
    const fams = selectorFamilies(sel);
    if (!fams) return undefined;
    const multi = Array.isArray(sel?.family);
    fams.forEach((f, k) => {
      if (!byFamily.has(f)) {
        problems.push({
          rawPath: [...path, 'family', ...(multi ? [k] : [])],
          message: `unknown family "${f}"; known families: ${known}`,
        });
      }
    });
    return fams.filter((f) => byFamily.has(f));
  };

  const checkTypes = (
    types: string | string[],
    families: string[] | undefined,
    path: (string | number)[],
  ) => {
    if (families && !families.length) return; // every named family is unknown: reported already
    const emitted: string[] = [
      ...GENERIC_EVENT_TYPES,
      ...(families ?? [...byFamily.keys()]).flatMap((f) => Object.keys(byFamily.get(f)?.events ?? {})),
    ];
    const patterns = typePatterns(types);
    patterns.forEach((p, k) => {
      if (!emitted.some((t) => typeMatches([p], t))) {
        const who = families?.length ? `a ${families.join(' or ')}` : 'any configured family';
        problems.push({
          rawPath: [...path, ...(Array.isArray(types) ? [k] : [])],
          message: `${who} never emits "${p}"; event types: ${[...new Set(emitted)].join(', ')}`,
        });
      }
    });
  };

  const seen = new Map<string, number>();
  cfg.rules.forEach((r, i) => {
    const at = (...p: (string | number)[]) => ['rules', i, ...p];
    const prev = seen.get(r.id);
    if (prev !== undefined)
      problems.push({ rawPath: at('id'), message: `rule id "${r.id}" is already used by rules[${prev}]` });
    else seen.set(r.id, i);
    if (r.id === LINKAGE_FAILED_RULE.id) return; // only its severity, message and escalation are used
    const families = familiesAt(r.match.devices, at('match', 'devices'));
    checkTypes(r.match.type, families, at('match', 'type'));
    if (cfg.privacy?.personalData !== 'full') {
      const shown = personalInMessage(r, families ? families.flatMap((f) => byFamily.get(f) ?? []) : [...byFamily.values()]);
      if (shown)
        problems.push({
          rawPath: at('message'),
          message: `shows "${shown.key}", which identifies a person (${shown.where}): alarm messages reach the city as written; leave it out (the console shows the trigger's data), or set privacy.personalData: full`,
        });
    }
    if (typeof r.clear === 'object') checkTypes(r.clear.type, families, at('clear', 'type'));
    r.actions.forEach((a, k) => {
      const targetFams = familiesAt(a.target.devices, at('actions', k, 'target', 'devices'));
      const fams = targetFams ?? (a.target.scope === 'trigger' ? families : undefined);
      if (!fams) {
        problems.push({
          rawPath: at('actions', k, 'target'),
          message: `say which family performs "${a.command}": set target.devices.family (or match.devices.family for scope trigger)`,
        });
        return;
      }
      for (const f of fams) {
        const def = byFamily.get(f);
        if (!def) continue;
        const schema = Object.hasOwn(def.commands, a.command)
          ? (def.commands[a.command] as z.ZodType)
          : undefined;
        if (!schema) {
          const cmds = Object.keys(def.commands).join(', ') || 'none';
          problems.push({
            rawPath: at('actions', k, 'command'),
            message: `a ${f} cannot perform "${a.command}" (its commands: ${cmds})`,
          });
          continue;
        }
        // A `{data.<path>}` argument is known only when the event comes: checked then, by the command path.
        const fromEvent = new Set(Object.keys(a.args).filter((key) => isEventArg(a.args[key])));
        const parsed = schema.safeParse(a.args);
        const issues = parsed.success ? [] : parsed.error.issues.filter((x) => !fromEvent.has(String(x.path[0])));
        if (issues.length) {
          const why = issues
            .map((x) => `${x.path.join('.') || 'args'}: ${x.message}`)
            .join('; ');
          problems.push({
            rawPath: at('actions', k, 'args'),
            message: `bad arguments for ${f} ${a.command}: ${why}`,
          });
        }
      }
    });
  });

  const builtinIds = new Set(builtinRules(families).map((r) => r.id));
  cfg.alarms.disable.forEach((id, i) => {
    if (!builtinIds.has(id)) {
      problems.push({
        rawPath: ['alarms', 'disable', i],
        message: `no built-in rule "${id}"; built-in rules: ${[...builtinIds].join(', ')}`,
      });
    }
  });
  cfg.alarms.maintenance.forEach((m, i) => {
    familiesAt(m.devices, ['alarms', 'maintenance', i, 'devices']);
    if (Date.parse(m.until) <= Date.parse(m.from)) {
      problems.push({
        rawPath: ['alarms', 'maintenance', i, 'until'],
        message: '`until` must be after `from`',
      });
    }
  });

  const channels = new Map<string, number>();
  cfg.notify.channels.forEach((c, i) => {
    if (channels.has(c.id))
      problems.push({
        rawPath: ['notify', 'channels', i, 'id'],
        message: `channel id "${c.id}" is already used`,
      });
    else channels.set(c.id, i);
  });
  const tiers = new Set<string>();
  cfg.notify.tiers.forEach((t, i) => {
    if (tiers.has(t.name))
      problems.push({
        rawPath: ['notify', 'tiers', i, 'name'],
        message: `tier "${t.name}" is already defined`,
      });
    tiers.add(t.name);
    t.channels.forEach((c, k) => {
      if (!channels.has(c)) {
        problems.push({
          rawPath: ['notify', 'tiers', i, 'channels', k],
          message: `no channel "${c}" in notify.channels (defined: ${[...channels.keys()].join(', ') || 'none'}); the console is always notified`,
        });
      }
    });
  });
  return problems;
}
