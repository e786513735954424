/** One active gas alarm, as the engine hands it to the notification channels (test fixture). */
import type { Alarm } from '../core/alarm-types.js';

export function sampleAlarm(over: Partial<Alarm> = {}): Alarm {
  return {
    id: '019ab3a1-8e2c-7c4e-9a51-2f4d2b8e6c10',
    rule: 'gas-high',
    subject: 'gas-b1-101',
    severity: 'critical',
    message: '燃气浓度超高限：gas-b1-101（B1 kitchen-101） 60 %LEL（高限 50）',
    state: 'raised',
    active: true,
    count: 1,
    latch: false,
    device: { id: 'gas-b1-101', family: 'gas-detector', building: 'B1', zone: 'kitchen-101', tags: [] },
    devices: ['gas-b1-101'],
    trigger: { eventId: 'e1', type: 'gas.alarm.high', receivedAt: '2026-11-23T09:30:12.345Z', data: {} },
    raisedAt: '2026-11-23T09:30:12.400Z',
    updatedAt: '2026-11-23T09:30:12.400Z',
    tier: 0,
    tierName: 'duty',
    history: [],
    ...over,
  };
}
