/**
 * Built-in alarm rules of the access-gate family, as data (GB 50396 access control: a door
 * forced or held open and a tampered reader are alarms). On by default; a site switches one off
 * with `alarms.disable` or replaces it with a rule of the same id. Messages are for the duty
 * staff (zh-CN); they name the place, never the person.
 */
import type { RuleInput } from '../../gateway/devices/driver-api.js';

const place = '{device.id}（{device.building} {device.zone}）';
const gates = { family: 'access-gate' };

export const GATE_RULES: readonly RuleInput[] = [
  {
    id: 'gate-door-forced',
    description: 'A door opened without a pass (forced): someone must look.',
    severity: 'major',
    message: `门被强行打开：${place} {data.door} 号门`,
    match: { type: 'door.forced', devices: gates },
  },
  {
    id: 'gate-door-held-open',
    description: 'A door stayed open past its time; clears when it closes.',
    severity: 'warning',
    message: `门长时间未关：${place} {data.door} 号门`,
    match: { type: 'door.held-open', devices: gates },
    clear: { type: 'door.state', where: { state: 'closed' } },
  },
  {
    id: 'gate-tamper',
    description: 'An access terminal was opened or taken off the wall.',
    severity: 'major',
    message: `门禁终端防拆报警：${place}`,
    match: { type: 'gate.tamper', devices: gates },
  },
  {
    id: 'gate-temperature-abnormal',
    description: 'An access terminal measured an abnormal body temperature.',
    severity: 'warning',
    message: `体温异常：{data.celsius}℃，${place}`,
    match: { type: 'gate.temperature.abnormal', devices: gates },
  },
];
