import { afterEach, describe, expect, it } from 'vitest';
import type { HostHarness } from '../../gateway/devices/testing/host-harness.js';
import { type DropRecord, MAX_MESSAGE_BYTES } from './index.js';
import { bootBins, pub, storeOf } from './testing/bin-kit.js';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const drops = (h: HostHarness) => storeOf(h).entries<DropRecord>('drop/');

async function refused(h: HostHarness, reason: string): Promise<number> {
  const m = await h.metrics.driverRefused.get();
  return m.values.find((v) => v.labels.reason === reason && v.labels.driver === 'bins')?.value ?? 0;
}

const status = (o: Record<string, unknown> = {}) =>
  JSON.stringify({ compartments: { kitchen: { level: 40, full: false }, other: { level: 95, full: true } }, temperature: 26, ...o });
const drop = { dropId: 'a1-17', householdId: 'A-301', cardId: 'C0042', category: 'kitchen', weightG: 850, correct: true, time: '2026-11-30T07:12:00+08:00' };

describe('smart-bin under the driver host, published with mosquitto_pub', () => {
  it('a status is level telemetry and state changes; smoke and overheating are alarms when they start', async () => {
    const { h, port } = await bootBins(cleanup);
    await pub(port, 'room-a', 'dev/room-a/bin-a-1/status', status());
    expect(h.eventsOf('bin-a-1', 'bin.level').map((e) => e.data)).toEqual([{ kitchen: 40, other: 95 }]);
    expect(h.eventsOf('bin-a-1', 'bin.full').map((e) => e.data)).toEqual([{ full: true, compartments: ['other'] }]);
    expect(h.online('bin-a-1')).toBe(true);

    await pub(port, 'room-a', 'dev/room-a/bin-a-1/status', status({ smoke: true, overheat: true, temperature: 75, tilt: true, doorOpen: true }));
    await pub(port, 'room-a', 'dev/room-a/bin-a-1/status', status({ smoke: true, overheat: true, temperature: 80, tilt: true, doorOpen: true }));
    const alarms = h.eventsOf('bin-a-1').filter((e) => e.kind === 'alarm');
    expect(alarms.map((e) => [e.type, e.severity, e.data])).toEqual([
      ['bin.smoke', 'critical', { celsius: 75 }],
      ['bin.overheat', 'critical', { celsius: 75 }],
    ]);
    expect(h.eventsOf('bin-a-1', 'bin.tilt').map((e) => e.data)).toEqual([{ tilted: true }]);
    expect(h.eventsOf('bin-a-1', 'bin.door').map((e) => e.data)).toEqual([{ open: true }]);

    // Emptied and set upright: the full compartments and the tilt are reported cleared.
    await pub(port, 'room-a', 'dev/room-a/bin-a-1/status', JSON.stringify({ compartments: { kitchen: { level: 0, full: false }, other: { level: 0, full: false } } }));
    expect(h.eventsOf('bin-a-1', 'bin.full').map((e) => e.data)).toEqual([
      { full: true, compartments: ['other'] },
      { full: false, compartments: [] },
    ]);
    expect(h.eventsOf('bin-a-1', 'bin.tilt').at(-1)?.data).toEqual({ tilted: false });
    expect(h.eventsOf('bin-a-1', 'bin.level')).toHaveLength(4);
  });

  it('a drop is an event and a durable record, once: a resend of the same drop id is only heard', async () => {
    const { h, port } = await bootBins(cleanup);
    await pub(port, 'room-a', 'dev/room-a/bin-a-2/drop', JSON.stringify(drop));
    await pub(port, 'room-a', 'dev/room-a/bin-a-2/drop', JSON.stringify(drop));
    const events = h.eventsOf('bin-a-2', 'bin.drop');
    expect(events.map((e) => e.data)).toEqual([
      { dropId: 'a1-17', householdId: 'A-301', cardId: 'C0042', category: 'kitchen', weightG: 850, correct: true },
    ]);
    expect(events[0]!.deviceTime?.toISOString()).toBe('2026-11-29T23:12:00.000Z');
    expect(drops(h)).toEqual([
      [
        'drop/bin-a-2/a1-17',
        { station: 'bin-a-2', building: 'A', householdId: 'A-301', cardId: 'C0042', category: 'kitchen', weightG: 850, correct: true, time: '2026-11-29T23:12:00.000Z' },
      ],
    ]);
    // The same drop id at another station is another drop.
    await pub(port, 'bin-b1', 'dev/bin-b1/bin-b1/drop', JSON.stringify(drop));
    expect(drops(h)).toHaveLength(2);
  });

  it('malformed, oversized, wrong-owner and unknown-station messages are refused and counted; nothing is stored', async () => {
    const { h, port } = await bootBins(cleanup);
    await pub(port, 'room-a', 'dev/room-a/bin-a-1/drop', '{"dropId": "x-1", "category": ');
    await pub(port, 'room-a', 'dev/room-a/bin-a-1/drop', JSON.stringify({ ...drop, note: 'x'.repeat(MAX_MESSAGE_BYTES) }));
    // The room-a controller names bin-b1, a station of another account.
    await pub(port, 'room-a', 'dev/room-a/bin-b1/drop', JSON.stringify(drop));
    await pub(port, 'stranger', 'dev/stranger/bin-z/drop', JSON.stringify(drop));
    await pub(port, 'stranger', 'dev/stranger/bin-a-1/status', status({ smoke: true }));
    // JSON from the right account that is not a drop: invalid device data, counted there.
    await pub(port, 'room-a', 'dev/room-a/bin-a-1/drop', JSON.stringify({ ...drop, weightG: -5, householdId: undefined, cardId: undefined }));

    expect(await refused(h, 'shape')).toBe(1);
    expect(await refused(h, 'too-large')).toBe(1);
    expect(await refused(h, 'wrong-owner')).toBe(2);
    expect(await refused(h, 'unknown-sender')).toBe(1);
    expect(h.invalids.map((i) => i.deviceId)).toEqual(['bin-a-1']);
    expect(h.invalids[0]!.reason).toMatch(/not a drop: weightG/);
    expect(h.events).toEqual([]);
    expect(drops(h)).toEqual([]);
  });
});
