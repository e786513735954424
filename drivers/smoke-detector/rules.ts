/**
 * Built-in alarm rules of the smoke-detector family, as data. A fire alarm stays until a person
 * has checked the place and resets it: it never clears by itself, even when the smoke is gone.
 * On by default; a site switches one off with `alarms.disable` or replaces it with a rule of the
 * same id. Several detectors confirming a fire are another rule's business.
 */
import type { RuleInput } from '../../gateway/devices/driver-api.js';

const place = '{device.id}（{device.building} {device.zone}）';
const devices = { family: 'smoke-detector' };

export const SMOKE_RULES: readonly RuleInput[] = [
  {
    id: 'smoke-alarm',
    description: 'A smoke detector senses smoke: critical alarm until a person resets it.',
    severity: 'critical',
    message: `烟感报警：${place}`,
    match: { type: 'smoke.alarm', devices },
    clear: 'manual',
  },
  {
    id: 'smoke-fault',
    description: 'A smoke detector reports a fault: it may not detect smoke.',
    severity: 'major',
    message: `烟感故障：${place}，故障 {data.reason}（代码 {data.code}）`,
    match: { type: 'smoke.fault', devices },
    clear: 'manual',
  },
  {
    id: 'smoke-tamper',
    description: 'A smoke detector was removed from its base.',
    severity: 'major',
    message: `烟感被拆除：${place}`,
    match: { type: 'device.tamper', devices },
    clear: 'manual',
  },
  {
    id: 'smoke-battery-low',
    description: 'A smoke detector battery is low; clears when a heartbeat reports more than 30 %.',
    severity: 'warning',
    message: `烟感电池电量低：${place}，剩余 {data.percent}%`,
    match: { type: 'device.battery-low', devices },
    clear: { type: 'device.heartbeat', where: { battery: { gt: 30 } } },
  },
];
