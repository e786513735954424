import { afterEach, describe, expect, it } from 'vitest';
import { startHarness } from '../../gateway/alarms/testing/engine-harness.js';
import { smartBin } from './index.js';

const STATION = { id: 'bin-3-1', family: 'smart-bin', building: '3号楼', zone: '垃圾房', tags: [] };
let h: ReturnType<typeof startHarness>;
afterEach(async () => h.close());

const boot = () => (h = startHarness({ builtin: true, families: [smartBin], devices: [STATION] }));
const active = (rule: string) => h.engine.activeAlarms().filter((a) => a.rule === rule);

describe('smart-bin built-in rules on the real alarm engine', () => {
  it('smoke or overheating: one critical fire-risk alarm per station, latched until a person resolves it', async () => {
    boot();
    await h.emit({ deviceId: STATION.id, type: 'bin.overheat', kind: 'alarm', severity: 'critical', data: { celsius: 72 } });
    await h.emit({ deviceId: STATION.id, type: 'bin.smoke', kind: 'alarm', severity: 'critical', data: {} });
    const [risk, ...more] = active('bin-fire-risk');
    expect(more).toEqual([]);
    expect(risk).toMatchObject({ severity: 'critical', count: 2 });
    expect(risk!.message).toBe('垃圾房火灾隐患（冒烟或过热）：bin-3-1（3号楼 垃圾房），请立即到场检查');
    // A status without smoke does not end it.
    await h.emit({ deviceId: STATION.id, type: 'bin.full', data: { full: false, compartments: [] } });
    expect(active('bin-fire-risk')).toHaveLength(1);
  });

  it('a full station is an info service task that clears when no compartment is full', async () => {
    boot();
    await h.emit({ deviceId: STATION.id, type: 'bin.full', data: { full: true, compartments: ['kitchen'] } });
    const [task] = active('bin-full');
    expect(task).toMatchObject({ severity: 'info', message: '垃圾桶已满，请安排清运：bin-3-1（3号楼 垃圾房）' });
    await h.emit({ deviceId: STATION.id, type: 'bin.full', data: { full: true, compartments: ['kitchen', 'other'] } });
    expect(active('bin-full')).toHaveLength(1);
    await h.emit({ deviceId: STATION.id, type: 'bin.full', data: { full: false, compartments: [] } });
    expect(active('bin-full')).toEqual([]);
    expect(h.alarmEvents('alarm.cleared')).toHaveLength(1);
  });
});
