/**
 * Built-in alarm rules of the ev-charger family, as data. A site switches one off with
 * `alarms.disable` or replaces it with a rule of the same id.
 */
import type { RuleInput } from '../../gateway/devices/driver-api.js';

const place = '{device.id}（{device.building} {device.zone}）';

export const EV_RULES: readonly RuleInput[] = [
  {
    id: 'ev-fault',
    description: 'A charging pile reports a fault (over-current, ground fault, over-temperature): it may be a fire risk.',
    severity: 'critical',
    message: `充电桩故障：${place} 枪 {data.connectorId} 故障码 {data.errorCode}`,
    match: { type: 'ev.fault', devices: { family: 'ev-charger' } },
  },
];
