/** Linkage action arguments taken from the triggering event (`{data.<path>}`) and the alarm's device (`{device.<field>}`). */
import { describe, expect, it } from 'vitest';
import { fillArgs, isEventArg } from './match.js';

describe('action arguments from the event', () => {
  it('a whole-value {data.<path>} takes the value with its type; other values stay; a missing one is left out', () => {
    const data = { port: 3, where: { door: 2 }, name: 'x' };
    expect(fillArgs({ port: '{data.port}', door: '{data.where.door}', mode: 'cut', n: 1 }, data)).toEqual({
      port: 3,
      door: 2,
      mode: 'cut',
      n: 1,
    });
    expect(fillArgs({ port: '{data.nothing}' }, data)).toEqual({});
    // Only a whole value is an event argument: text around it stays text.
    expect(fillArgs({ note: 'port {data.port}' }, data)).toEqual({ note: 'port {data.port}' });
    expect([isEventArg('{data.port}'), isEventArg('port {data.port}'), isEventArg(3)]).toEqual([true, false, false]);
  });

  it('{device.id|building|zone} takes that field of the alarm device; other device fields are plain text', () => {
    const device = { id: 'gas-b1-101', family: 'gas-detector', building: 'B1', tags: [] };
    expect(fillArgs({ d: '{device.id}', b: '{device.building}', z: '{device.zone}', f: '{device.family}' }, {}, device)).toEqual({
      d: 'gas-b1-101',
      b: 'B1',
      f: '{device.family}',
    });
    expect([isEventArg('{device.id}'), isEventArg('{device.family}')]).toEqual([true, false]);
  });
});
