/** The config of a streetlight driver: every mistake named with its path and how to fix it. */
import { describe, expect, it } from 'vitest';
import { LIGHT_MODELS, StreetlightConfig } from './index.js';

const base = { family: 'streetlight', id: 'lights', transport: { type: 'tcp', port: 1502 } };
const issues = (cfg: object) => StreetlightConfig.safeParse({ ...base, ...cfg }).error?.issues.map((i) => [i.path.join('.'), i.message]);

describe('streetlight config', () => {
  it('accepts controllers with groups and their schedules; models resolved', () => {
    const cfg = StreetlightConfig.parse({
      ...base,
      schedules: { road: { on: 'sunset+15m', off: 'sunrise-10m', steps: [{ at: '23:00', level: 50 }] } },
      devices: [{ id: 'p1', unitId: 1, group: 'road' }, { id: 'p2', unitId: 2, model: 'group-4' }],
    });
    expect(cfg.devices.map((d) => [d.model, Object.keys(d.map.coils)])).toEqual([
      ['single-lamp', ['lamp1-on']],
      ['group-4', ['lamp1-on', 'lamp2-on', 'lamp3-on', 'lamp4-on']],
    ]);
    expect(cfg.schedules.road).toEqual({ on: { sun: 'sunset', minutes: 15 }, off: { sun: 'sunrise', minutes: -10 }, level: 100, steps: [{ at: { hour: 23, minute: 0 }, level: 50 }] });
    expect(cfg.pollIntervalMs).toBe(5000);
  });

  it('names a group without schedule, an unknown model, a shared unit id, a bad time', () => {
    expect(issues({ schedules: { road: { on: 'sunset+15', off: 'dawn' } }, devices: [] })).toEqual([
      ['schedules.road.on', 'a sun event with an offset in minutes (sunset+15m, sunrise-10m, dusk, dawn) or a local time HH:MM (18:30)'],
    ]);
    expect(issues({ schedules: { road: { on: 'dusk', off: 'dawn' } }, devices: [{ id: 'p1', unitId: 1, group: 'park' }, { id: 'p2', unitId: 1, model: 'x' }] })).toEqual([
      ['devices.0.group', 'no schedule for group "park"; groups under schedules: road'],
      ['devices.1.model', 'unknown model "x"; known models: single-lamp, group-4 (or describe it under models: of this driver)'],
      ['devices.1.unitId', 'unit id 1 is already used by devices[0] on this bus; every controller on one bus needs its own unit id'],
    ]);
  });

  it('latitude and longitude come together', () => {
    expect(issues({ latitude: 31.2, devices: [] })).toEqual([['longitude', "give both latitude and longitude, or neither (the site's are used)"]]);
  });

  it('a site model: checked for every lamp field, a bool failure bit accepted', () => {
    const lamp = {
      'lamp1-on': { block: 'coils', offset: 0, type: 'bool' },
      'lamp1-level': { block: 'hr', offset: 0 },
      'lamp1-voltage': { block: 'hr', offset: 1 },
      'lamp1-current': { block: 'hr', offset: 2, scale: 0.01 },
      'lamp1-power': { block: 'hr', offset: 3 },
      'lamp1-energy': { block: 'hr', offset: 4, type: 'uint32' },
      'lamp1-failure': { block: 'hr', offset: 6, type: 'bool', bit: 3 },
      fault: { block: 'hr', offset: 7 },
    };
    const model = { blocks: { hr: { table: 'holding', start: 100, length: 8 }, coils: { table: 'coils', start: 0, length: 1 } }, fields: lamp, coils: { 'lamp1-on': { address: 0 } } };
    expect(issues({ models: { mine: model }, devices: [{ id: 'p', unitId: 1, model: 'mine' }] })).toBeUndefined();
    const { 'lamp1-power': _, ...noPower } = lamp;
    expect(issues({ models: { mine: { ...model, fields: { ...noPower, fault: { block: 'hr', offset: 7, type: 'bool', bit: 0 } } } }, devices: [] })).toEqual([
      ['models.mine.fields.fault', 'a controller model needs a number field fault (the controller fault code, 0 = none)'],
      ['models.mine.fields', 'lamp 1: missing field lamp1-power'],
    ]);
    expect(issues({ models: { 'group-4': LIGHT_MODELS['group-4'] }, devices: [] })?.[0]).toEqual(['models.group-4', '"group-4" is a shipped model; give your model another name']);
  });

  it('a level that is not a one-register holding field cannot be written', () => {
    const m = structuredClone(LIGHT_MODELS['single-lamp']!) as { fields: Record<string, object> };
    m.fields['lamp1-level'] = { block: 'status', offset: 10 };
    expect(issues({ models: { odd: m }, devices: [] })).toEqual([
      ['models.odd.fields.lamp1-level', 'field lamp1-level must be a one-register (uint16 or int16) field in a holding block: light.dim writes it with FC6'],
    ]);
  });
});

