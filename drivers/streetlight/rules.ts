/**
 * Built-in alarm rules of the streetlight family, as data (a site disables or replaces each by
 * id). A failed lamp is a maintenance task for the electricians: an `info` alarm on the console
 * that clears by itself once no lamp of the controller is failed. A controller fault is a
 * `warning` that clears when the fault code is back to 0.
 */
import type { RuleInput } from '../../gateway/devices/driver-api.js';

const place = '{device.id}（{device.building} {device.zone}）';
const devices = { family: 'streetlight' };

export const LIGHT_RULES: readonly RuleInput[] = [
  {
    id: 'streetlight-lamp-failure',
    description: 'A lamp failed: a maintenance task; clears when no lamp of the controller is failed.',
    severity: 'info',
    message: `路灯故障，请安排维修：${place} 灯 {data.lamp}（{data.reason}）`,
    match: { type: 'light.failure', devices },
    clear: { type: 'light.failure.cleared', where: { failedLamps: 0 } },
  },
  {
    id: 'streetlight-controller-fault',
    description: 'A streetlight controller reports a fault code; clears when the code is back to 0.',
    severity: 'warning',
    message: `路灯控制器故障：${place} 故障码 {data.code}（{data.meaning}）`,
    match: { type: 'light.controller.fault', devices },
    clear: { type: 'light.controller.fault.cleared' },
  },
];
