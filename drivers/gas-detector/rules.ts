/**
 * Built-in alarm rules of the gas-detector family, as data (GB 50116 §8.1: gas detectors start
 * sounders and may close the gas valve; they are not on fire loops). On by default; a site
 * switches one off with `alarms.disable` or replaces it with a rule of the same id.
 */
import type { RuleInput } from '../../gateway/devices/driver-api.js';

const place = '{device.id}（{device.building} {device.zone}）';

export const GAS_RULES: readonly RuleInput[] = [
  {
    id: 'gas-high',
    description: 'Combustible gas above the high threshold: critical alarm, close the gas valve.',
    severity: 'critical',
    message: `燃气浓度超高限：${place} {data.lel} %LEL（高限 {data.highThreshold}）`,
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
    description: 'Combustible gas above the low threshold.',
    severity: 'major',
    message: `燃气浓度报警：${place} {data.lel} %LEL（低限 {data.lowThreshold}）`,
    match: { type: 'gas.alarm.low', devices: { family: 'gas-detector' } },
    clear: { type: 'gas.normal' },
  },
  {
    id: 'gas-fault',
    description: 'Gas detector reports a fault: it may not detect gas.',
    severity: 'major',
    message: `燃气探测器故障：${place} 故障码 {data.faultCode}`,
    match: { type: 'gas.fault', devices: { family: 'gas-detector' } },
    clear: { type: 'gas.fault.cleared' },
  },
];
