/**
 * The built-in life-safety rule set, as data. On by default (`alarms.builtinRules`); a site
 * switches single rules off with `alarms.disable`, or replaces one by writing a rule with the
 * same id under `rules:`. Rules are only loaded for families present in the driver registry:
 * the rules of a family are added here when its driver lands, the engine does not change.
 */
import type { RuleInput } from '../core/rule-schema.js';

/** Families whose devices are life-safety devices (offline for long = an alarm). */
export const LIFE_SAFETY_FAMILIES = ['gas-detector', 'smoke-detector', 'emergency-button'];

const place = '{device.id} ({device.building} {device.zone})';

export const BUILTIN_RULES: readonly (RuleInput & { families: string[] })[] = [
  // Gas (GB 50116 §8.1: gas detectors start sounders and may close the valve; not on fire loops).
  {
    id: 'gas-high',
    families: ['gas-detector'],
    description: 'Combustible gas above the high threshold: critical alarm, close the gas valve.',
    severity: 'critical',
    message: `Gas HIGH at ${place}: {data.lel} %LEL (high threshold {data.highThreshold})`,
    match: { type: 'gas.alarm.high', devices: { family: 'gas-detector' } },
    clear: { type: 'gas.normal' },
    // Detectors wired to a valve relay carry the tag `valve`. The valve stays closed after the
    // alarm clears: a person reopens it (`valve.open`) once the cause is found.
    actions: [
      {
        command: 'valve.close',
        target: { scope: 'trigger', devices: { family: 'gas-detector', tags: ['valve'] } },
      },
    ],
  },
  {
    id: 'gas-low',
    families: ['gas-detector'],
    description: 'Combustible gas above the low threshold.',
    severity: 'major',
    message: `Gas LOW alarm at ${place}: {data.lel} %LEL (low threshold {data.lowThreshold})`,
    match: { type: 'gas.alarm.low', devices: { family: 'gas-detector' } },
    clear: { type: 'gas.normal' },
  },
  {
    id: 'gas-fault',
    families: ['gas-detector'],
    description: 'Gas detector reports a fault: it may not detect gas.',
    severity: 'major',
    message: `Gas detector fault at ${place}: code {data.faultCode}`,
    match: { type: 'gas.fault', devices: { family: 'gas-detector' } },
    clear: { type: 'gas.fault.cleared' },
  },
  // Any life-safety device that stays offline: it cannot alarm any more.
  {
    id: 'life-safety-offline',
    families: [],
    description: 'A life-safety device has been offline for 5 minutes.',
    severity: 'major',
    message: `Life-safety device offline for 5 min: ${place} ({data.reason})`,
    match: {
      type: 'device.availability',
      devices: { family: LIFE_SAFETY_FAMILIES },
      where: { online: false },
    },
    for: '5m',
    clear: { type: 'device.availability', where: { online: true } },
  },
];

/**
 * Raised by the engine itself when a linkage action fails or times out: critical,
 * cleared only by a person. A site may override its severity and escalation with a rule of
 * this id whose `match` is never used.
 */
export const LINKAGE_FAILED_RULE: RuleInput = {
  id: 'linkage-failed',
  severity: 'critical',
  message: 'Linkage action {data.command} on {data.target} failed: {data.error}',
  match: { type: 'alarm.linkage-failed' },
  clear: 'manual',
};
