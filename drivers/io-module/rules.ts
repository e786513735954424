/**
 * Built-in alarm rules of the io-module family, as data. On by default; a site switches one off
 * with `alarms.disable` or replaces it with a rule of the same id. Door contacts raise no alarm
 * here: whether an open door matters depends on the door and the hour, which is the site's rule.
 */
import type { RuleInput } from '../../gateway/devices/driver-api.js';

const zoneSirens = { scope: 'zone' as const, devices: { family: 'io-module', tags: ['siren'] } };

export const IO_RULES: readonly RuleInput[] = [
  {
    // Its own id: the LoRaWAN alarm-button family has `button-pressed`; a site may run both.
    id: 'io-button-pressed',
    description: 'A wired emergency button was pressed: critical alarm until a person resolves it, sirens of the zone on.',
    severity: 'critical',
    message: '紧急按钮报警：{device.id}（{device.building} {device.zone}）',
    match: { type: 'button.pressed', devices: { family: 'io-module' } },
    // GB 50394 §5.2.3: an emergency alarm latches until it is reset by hand.
    latch: true,
    clear: 'manual',
    // The zone's sirens sound until a person resolves the alarm.
    actions: [
      { command: 'siren.on', target: zoneSirens },
      { on: 'resolve', command: 'siren.off', target: zoneSirens },
    ],
  },
];
