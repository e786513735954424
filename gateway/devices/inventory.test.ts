import { describe, expect, it } from 'vitest';
import { GATEWAY_EVENT_TYPES } from '../core/gateway-events.js';
import { buildInventory } from './inventory.js';
import { widgetConfig, widgetFamily } from './testing/test-family.js';

const { family } = widgetFamily();
const on = widgetConfig([{ id: 'a' }, { id: 'b', model: 'plain' }]);
const off = { ...widgetConfig([{ id: 'c' }], { enabled: false }), id: 'spare' };
const inv = buildInventory('gw-01', [on, off], [family]);

describe('inventory', () => {
  it('knows every device, its driver, family and config entry, and the gateway itself', () => {
    expect([...inv.devices.keys()]).toEqual(['gw-01', 'a', 'b', 'c']);
    expect(inv.devices.get('gw-01')).toEqual({ id: 'gw-01', family: 'gateway', tags: [] });
    expect(inv.familyOf('b')).toBe('widget');
    expect(inv.driverOf('c')?.id).toBe('spare');
    expect(inv.deviceConfig('b')).toMatchObject({ id: 'b', model: 'plain' });
    expect(inv.driverOf('gw-01')).toBeUndefined();
    expect(inv.familyOf('nobody')).toBeUndefined();
  });

  it('lists per device the commands its model accepts (none when its driver is disabled) and its event types', () => {
    const birth = new Map(inv.birthDevices().map((d) => [d.id, d]));
    expect(birth.get('gw-01')).toMatchObject({ commands: [], eventTypes: Object.keys(GATEWAY_EVENT_TYPES) });
    expect(birth.get('a')).toMatchObject({ commands: ['valve.close', 'dim.set', 'door.open'], eventTypes: ['widget.reading'] });
    expect(birth.get('b')?.commands).toEqual(['dim.set']);
    expect(birth.get('c')?.commands).toEqual([]);
  });
});
