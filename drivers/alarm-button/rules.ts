/**
 * Built-in alarm rules of the alarm-button family, as data. An emergency alarm is latched until
 * a person resets it (GB 50394 §5.2.3), whatever the button sends afterwards, and it sounds the
 * sirens of the button's zone. On by default; a site switches one off with `alarms.disable` or
 * replaces it with a rule of the same id.
 */
import type { RuleInput } from '../../gateway/devices/driver-api.js';

const zoneSirens = { scope: 'zone' as const, devices: { family: 'io-module', tags: ['siren'] } };

const place = '{device.id}（{device.building} {device.zone}）';
const devices = { family: 'alarm-button' };

export const BUTTON_RULES: readonly RuleInput[] = [
  {
    id: 'button-pressed',
    description: 'An emergency button was pressed: critical, latched, sirens of its zone on until resolved.',
    severity: 'critical',
    message: `紧急求助报警：${place}`,
    match: { type: 'button.pressed', devices },
    latch: true,
    clear: 'manual',
    // The zone's sirens sound until a person resolves the alarm.
    actions: [
      { command: 'siren.on', target: zoneSirens },
      { on: 'resolve', command: 'siren.off', target: zoneSirens },
    ],
  },
  {
    id: 'button-battery-low',
    description: 'An emergency button battery is low; clears when a heartbeat reports more than 30 %.',
    severity: 'warning',
    message: `紧急按钮电池电量低：${place}，剩余 {data.percent}%`,
    match: { type: 'device.battery-low', devices },
    clear: { type: 'device.heartbeat', where: { battery: { gt: 30 } } },
  },
];
