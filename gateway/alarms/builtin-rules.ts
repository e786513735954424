/**
 * The generic built-in rules, as data. Each family brings its own rules (`rules` in its
 * definition); on by default (`alarms.builtinRules`), a site switches single rules off with
 * `alarms.disable`, or replaces one by writing a rule with the same id under `rules:`.
 */
import type { RuleInput } from '../core/rule-schema.js';
import type { AnyFamily } from '../devices/driver-api.js';
import { fireRules } from './fire-rules.js';

const place = '{device.id}（{device.building} {device.zone}）';

/**
 * Any life-safety device that stays offline: it cannot alarm any more. Covers every family
 * declaring `lifeSafety: true`; none when there is no such family.
 */
export function lifeSafetyOfflineRule(families: readonly AnyFamily[]): RuleInput | undefined {
  const lifeSafety = families.filter((f) => f.lifeSafety).map((f) => f.family);
  if (!lifeSafety.length) return undefined;
  return {
    id: 'life-safety-offline',
    description: 'A life-safety device has been offline for 5 minutes.',
    severity: 'major',
    message: `生命安全设备离线 5 分钟：${place}（{data.reason}）`,
    match: {
      type: 'device.availability',
      devices: { family: lifeSafety },
      where: { online: false },
    },
    for: '5m',
    clear: { type: 'device.availability', where: { online: true } },
  };
}

/**
 * The built-in rules for these families: each family's own, in registry order, then those that
 * span families (fire linkage), then the generic ones. Built-in rules may name families that are
 * not registered: such an action has no targets (and a match no events) until they are.
 */
export function builtinRules(families: readonly AnyFamily[]): RuleInput[] {
  const offline = lifeSafetyOfflineRule(families);
  return [...families.flatMap((f) => f.rules ?? []), ...fireRules(families), ...(offline ? [offline] : [])];
}

/**
 * Raised by the engine itself when a linkage action fails or times out: critical,
 * cleared only by a person. A site may override its severity and escalation with a rule of
 * this id whose `match` is never used.
 */
export const LINKAGE_FAILED_RULE: RuleInput = {
  id: 'linkage-failed',
  severity: 'critical',
  message: '联动失败：{data.target} 执行 {data.command} 未成功：{data.error}',
  match: { type: 'alarm.linkage-failed' },
  clear: 'manual',
};
