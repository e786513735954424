import { describe, expect, it } from 'vitest';
import { startHarness } from '../../gateway/alarms/testing/engine-harness.js';
import { evCharger } from './index.js';

describe('ev-charger built-in rules', () => {
  it('an ev.fault raises a critical alarm with the message in zh-CN', async () => {
    const h = startHarness({
      builtin: true,
      families: [evCharger],
      devices: [{ id: 'pile-1', family: 'ev-charger', building: 'B3', zone: 'P1', tags: [] }],
    });
    await h.emit({ deviceId: 'pile-1', type: 'ev.status', data: { connectorId: 2, status: 'Charging', errorCode: 'NoError' } });
    expect(h.alarmEvents('alarm.raised')).toEqual([]);
    await h.emit({
      deviceId: 'pile-1',
      type: 'ev.fault',
      kind: 'alarm',
      severity: 'major',
      data: { connectorId: 2, errorCode: 'OverCurrentFailure' },
    });
    const [raised] = h.alarmEvents('alarm.raised');
    expect(raised?.severity).toBe('critical');
    expect(h.alarmOf(raised!)).toMatchObject({ rule: 'ev-fault', message: '充电桩故障：pile-1（B3 P1） 枪 2 故障码 OverCurrentFailure' });
    await h.close();
  });
});
