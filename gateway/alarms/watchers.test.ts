/** Linkage to the watchers of an alarm's devices (cameras): target scope `watchers`, `{device.*}` arguments. */
import { describe, expect, it } from 'vitest';
import { gasDetector } from '../../drivers/gas-detector/index.js';
import { Rule, type RuleInput } from '../core/rule-schema.js';
import { Watches } from '../core/watches.js';
import { effectiveRules } from './rule-set.js';
import { startHarness } from './testing/engine-harness.js';

const cameras = [
  { id: 'cam-b1-kitchens', family: 'onvif-camera', building: 'B1', zone: 'corridor', tags: [] },
  { id: 'cam-b1-all', family: 'onvif-camera', building: 'B1', zone: 'gate', tags: [] },
  { id: 'cam-boiler', family: 'onvif-camera', building: 'plant', zone: 'yard', tags: [] },
  { id: 'cam-b2', family: 'onvif-camera', building: 'B2', zone: 'gate', tags: [] },
];
const watches = new Map([
  ['cam-b1-kitchens', Watches.parse({ zones: ['B1/kitchen-101'] })],
  ['cam-b1-all', Watches.parse({ zones: ['B1'] })],
  ['cam-boiler', Watches.parse({ devices: ['gas-boiler-1'] })],
  ['cam-b2', Watches.parse({ zones: ['B2/kitchen-999'] })],
]);

const rule: RuleInput = {
  id: 'gas-with-video',
  severity: 'critical',
  match: { type: 'gas.alarm.high' },
  actions: [
    {
      command: 'camera.link',
      args: { device: '{device.id}', zone: '{device.zone}', lel: '{data.lel}' },
      target: { scope: 'watchers', devices: { family: 'onvif-camera' } },
    },
  ],
};
const gasHigh = (deviceId: string) => ({
  deviceId,
  type: 'gas.alarm.high',
  kind: 'alarm' as const,
  severity: 'critical' as const,
  data: { lel: 61, lowThreshold: 20, highThreshold: 50, status: 'high' },
});

describe('linkage to the watchers of the alarm devices', () => {
  it('sends the action to each camera with the device, its zone or its building in view, with the device filled in', async () => {
    const h = startHarness({ rules: [rule], devices: cameras, watches });
    await h.emit(gasHigh('gas-b1-101'));
    await h.settle();
    expect(h.commands.map((c) => c.deviceId).sort()).toEqual(['cam-b1-all', 'cam-b1-kitchens']);
    expect(h.commands[0]!.args).toEqual({ device: 'gas-b1-101', zone: 'kitchen-101', lel: 61 });
    await h.close();
  });

  it('by device id; and no camera at all when none has the device in view', async () => {
    const h = startHarness({ rules: [rule], devices: cameras, watches });
    await h.emit(gasHigh('gas-boiler-1'));
    await h.emit(gasHigh('gas-b2-101'));
    await h.settle();
    expect(h.commands.map((c) => c.deviceId)).toEqual(['cam-boiler']);
    await h.close();
  });

  it('refuses a zone that is neither `building` nor `building/zone`', () => {
    expect(Watches.safeParse({ zones: ['B1/a/b'] }).success).toBe(false);
    expect(Watches.parse({ zones: ['B1', 'B1/lobby'] }).devices).toEqual([]);
  });
});

describe("a family's linkage on every alarm (alarmLinkage)", () => {
  const camera = {
    ...gasDetector,
    family: 'onvif-camera',
    rules: [],
    alarmLinkage: {
      minSeverity: 'major' as const,
      actions: [
        { command: 'camera.link', args: { device: '{device.id}' }, target: { scope: 'watchers' as const, devices: { family: 'onvif-camera' } } },
      ],
    },
  };
  const siteRules = [
    Rule.parse({ ...rule, id: 'gas-plain', actions: [] }),
    Rule.parse({ ...rule, id: 'gas-warning', severity: 'warning', actions: [] }),
    Rule.parse({ ...rule, id: 'gas-no-video', alarmLinkage: false, actions: [] }),
  ];
  const linked = (id: string) =>
    effectiveRules({ builtinRules: false, disable: [], maintenance: [] }, siteRules, [gasDetector, camera])
      .find((r) => r.rule.id === id)!
      .rule.actions.map((a) => a.command);

  it('is appended to every rule of at least its severity, unless the rule opts out', () => {
    expect(linked('gas-plain')).toEqual(['camera.link']);
    expect(linked('gas-warning')).toEqual([]);
    expect(linked('gas-no-video')).toEqual([]);
  });

  it('reaches the watching cameras of an alarm raised by a rule without actions of its own', async () => {
    const h = startHarness({ rules: [{ ...rule, id: 'gas-plain', actions: [] }], devices: cameras, watches, builtin: true, families: [gasDetector, camera] });
    await h.emit(gasHigh('gas-boiler-1'));
    await h.settle();
    // One link per alarm raised (the site rule and the family's built-in high-gas rule): each alarm gets its own snapshot.
    const raised = h.alarmEvents('alarm.raised').length;
    expect(raised).toBe(2);
    expect(h.commands.filter((c) => c.name === 'camera.link')).toEqual(
      Array.from({ length: raised }, () => ({ deviceId: 'cam-boiler', name: 'camera.link', args: { device: 'gas-boiler-1' } })),
    );
    await h.close();
  });
});
