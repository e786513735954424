import { afterEach, describe, expect, it } from 'vitest';
import { BinStationSimulator, type SimDrop } from '../../simulators/smart-bin/station-sim.js';
import type { SmartBinConfig } from './schema.js';
import { BINS_CLI, buildingSummary, CATEGORIES, dropsSince, householdSummary } from './index.js';
import { ACCOUNTS, type Account, binConfig, bootBins, storeOf } from './testing/bin-kit.js';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const DAY = 86_400_000;
const STATIONS = [
  { id: 'bin-a-1', account: 'room-a', building: 'A', households: ['A-101', 'A-102', 'A-201'] },
  // A household may use either station of its bin room.
  { id: 'bin-a-2', account: 'room-a', building: 'A', households: ['A-201', 'A-202'] },
  { id: 'bin-b1', account: 'bin-b1', building: 'B', households: ['B-101', 'B-102'] },
];

async function simulate() {
  const { h, broker } = await bootBins(cleanup);
  const sim = await BinStationSimulator.start({ url: broker.url, stations: STATIONS, password: (a) => ACCOUNTS[a as Account], seed: 7 });
  cleanup.push(() => sim.close());
  const store = storeOf(h);
  const ctx = { drivers: [binConfig() as SmartBinConfig], store: () => store, now: Date.now };
  return { h, sim, store, ctx };
}

/** What the report should say, computed from what the simulator published. */
function expected(published: readonly SimDrop[]) {
  const perBuilding = new Map<string, { households: Set<string>; drops: number; grams: Record<string, number>; correct: number }>();
  for (const d of published) {
    const b = STATIONS.find((s) => s.id === d.station)!.building;
    const e = perBuilding.get(b) ?? { households: new Set(), drops: 0, grams: { recyclable: 0, kitchen: 0, hazardous: 0, other: 0 }, correct: 0 };
    e.households.add(d.householdId);
    e.drops++;
    e.grams[d.category]! += d.weightG;
    if (d.correct) e.correct++;
    perBuilding.set(b, e);
  }
  return [...perBuilding.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([building, e]) => ({ building, households: e.households.size, total: { drops: e.drops, grams: Object.values(e.grams).reduce((a, b) => a + b, 0), correct: e.correct }, grams: e.grams }));
}

describe('the sorting report on a simulated day', () => {
  it('counts and weighs every drop the stations published, per household and per building; older drops are outside --since', async () => {
    const { sim, store, ctx } = await simulate();
    const old = await sim.publishDay(new Date(Date.now() - 40 * DAY), 1);
    const day = await sim.publishDay(new Date(Date.now() - DAY), 3);
    expect(day).toHaveLength(7 * 3);
    // Every drop published is stored, once.
    expect(dropsSince(store, 0)).toHaveLength(old.length + day.length);

    const recent = dropsSince(store, Date.now() - 30 * DAY);
    expect(buildingSummary(recent)).toEqual(expected(day));
    for (const household of ['A-201', 'B-102']) {
      const mine = day.filter((d) => d.householdId === household);
      const summary = householdSummary(recent, household);
      for (const c of CATEGORIES) {
        const of = mine.filter((d) => d.category === c);
        expect(summary[c], `${household} ${c}`).toEqual({
          drops: of.length,
          grams: of.reduce((n, d) => n + d.weightG, 0),
          correct: of.filter((d) => d.correct).length,
        });
      }
    }

    // The printed tables say the same.
    const byBuilding = BINS_CLI.run(['report', '--by', 'building', '--since', '30d', '--lang', 'en'], ctx);
    const b = expected(day).find((e) => e.building === 'B')!;
    const row = byBuilding.split('\n').find((l) => l.startsWith('B '))!;
    expect(row.trim().split(/\s+/)).toEqual([
      'B',
      String(b.households),
      String(b.total.drops),
      ...CATEGORIES.map((c) => (b.grams[c]! / 1000).toFixed(1)),
      `${Math.round((100 * b.total.correct) / b.total.drops)}%`,
    ]);
    const zh = BINS_CLI.run(['report', '--household', 'A-201', '--since', '30d'], ctx);
    expect(zh).toContain('住户 A-201 垃圾分类投放（近 30 天）');
    expect(zh.split('\n').find((l) => l.startsWith('合计'))!.trim().split(/\s+/).slice(0, 2)).toEqual(['合计', String(day.filter((d) => d.householdId === 'A-201').length)]);
    expect(BINS_CLI.run(['report', '--household', 'nobody', '--lang', 'en'], ctx)).toMatch(/\(none\)$/);
  });

  it("the demo's pace: each tick is one drop and a status of every station", async () => {
    const { h, sim, store } = await simulate();
    await sim.tick();
    await sim.tick();
    expect(dropsSince(store, 0)).toHaveLength(2);
    for (const s of STATIONS) expect(h.eventsOf(s.id, 'bin.level')).toHaveLength(2);
  });

  it('bad report arguments say what is wrong and how to ask', async () => {
    const { ctx } = await simulate();
    expect(() => BINS_CLI.run(['report'], ctx)).toThrow(/give --household <id> or --by building/);
    expect(() => BINS_CLI.run(['report', '--by', 'zone'], ctx)).toThrow(/--by takes "building", got "zone"/);
    expect(() => BINS_CLI.run(['report', '--by', 'building', '--since', '1h'], ctx)).toThrow(/number of days such as 30d, got "1h"/);
    expect(() => BINS_CLI.run(['report', '--by', 'building', '--lang', 'fr'], ctx)).toThrow(/--lang takes zh or en/);
    expect(() => BINS_CLI.run(['summary'], ctx)).toThrow(/expected "report"/);
  });

  it('injected faults: smoke and overheating raise alarms; garbage, oversized and foreign messages are refused', async () => {
    const { h, sim, store } = await simulate();
    await sim.apply('bin-b1', { smoke: true });
    await sim.apply('bin-b1', { overheat: true });
    expect(h.eventsOf('bin-b1').filter((e) => e.kind === 'alarm').map((e) => e.type)).toEqual(['bin.smoke', 'bin.overheat']);
    await sim.apply('bin-a-1', { garbage: true });
    await sim.apply('bin-a-1', { oversized: true });
    await sim.apply('bin-a-1', { foreign: 'bin-b1' });
    await sim.apply('bin-a-1', { foreign: 'bin-nowhere' });
    const m = await h.metrics.driverRefused.get();
    const counts = Object.fromEntries(m.values.filter((v) => v.labels.driver === 'bins').map((v) => [v.labels.reason, v.value]));
    expect(counts).toEqual({ shape: 1, 'too-large': 1, 'wrong-owner': 1, 'unknown-sender': 1 });
    expect(h.eventsOf('bin-a-1')).toEqual([]);
    await sim.apply('bin-a-1', { drop: { householdId: 'A-101', category: 'hazardous', weightG: 120, correct: true } });
    expect(dropsSince(store, 0).map((r) => [r.householdId, r.category, r.weightG])).toEqual([['A-101', 'hazardous', 120]]);
  });
});
