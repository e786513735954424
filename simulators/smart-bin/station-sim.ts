/**
 * Simulated smart-bin stations speaking the real wire protocol: MQTT 3.1.1 to the embedded
 * broker, one connection per `device` account, JSON `status` and `drop` messages under
 * `dev/<account>/<station>/` (see drivers/smart-bin/messages.ts), QoS 1.
 *
 * `publishDay(day)` publishes a (compressed) day of drops for the station's households, fill
 * levels rising with every drop, and returns what it published; `apply` injects faults and
 * changes (overheat, smoke, tilt, door, emptying, malformed JSON, an oversized message, a message
 * for another station's topic).
 */
import { connect, type MqttClient } from 'mqtt';
import { z } from 'zod';
import { CATEGORIES, type Category } from '../../drivers/smart-bin/schema.js';

export interface SimStation {
  id: string;
  account: string;
  building?: string;
  households: readonly string[];
}

export interface SimDrop {
  station: string;
  dropId: string;
  householdId: string;
  category: Category;
  weightG: number;
  correct: boolean;
  time: string;
}

interface StationState {
  levels: Record<Category, number>;
  temperature: number;
  overheat: boolean;
  smoke: boolean;
  tilt: boolean;
  doorOpen: boolean;
  nextDrop: number;
}

export const StationChange = z.strictObject({
  overheat: z.boolean().optional(),
  smoke: z.boolean().optional(),
  tilt: z.boolean().optional(),
  door: z.boolean().optional(),
  /** Empties every compartment (the cleaning staff's round). */
  empty: z.literal(true).optional(),
  /** One drop now; weight and correctness random when left out. */
  drop: z
    .strictObject({
      householdId: z.string().min(1).max(64),
      category: z.enum(CATEGORIES),
      weightG: z.number().int().min(0).max(50_000).optional(),
      correct: z.boolean().optional(),
    })
    .optional(),
  /** Publishes text that is not JSON. */
  garbage: z.literal(true).optional(),
  /** Publishes a status padded past the driver's size limit. */
  oversized: z.literal(true).optional(),
  /** Publishes a status under this station's account for another station (or one the site does not list). */
  foreign: z.string().min(1).max(64).optional(),
});
export type StationChange = z.infer<typeof StationChange>;

/** A small deterministic generator (mulberry32), so a simulated day can be replayed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Typical weights per category, grams (min, max). */
const WEIGHT: Record<Category, [number, number]> = {
  recyclable: [100, 2000],
  kitchen: [200, 1500],
  hazardous: [20, 300],
  other: [100, 1200],
};
/** Grams that fill one compartment to 100 %. */
const CAPACITY_G = 60_000;

export class BinStationSimulator {
  private readonly clients = new Map<string, MqttClient>();
  private readonly states = new Map<string, StationState>();
  private readonly rand: () => number;

  private constructor(
    private readonly stations: readonly SimStation[],
    seed: number,
  ) {
    this.rand = random(seed);
    for (const s of stations) {
      this.states.set(s.id, {
        levels: { recyclable: 0, kitchen: 0, hazardous: 0, other: 0 },
        temperature: 24,
        overheat: false,
        smoke: false,
        tilt: false,
        doorOpen: false,
        nextDrop: 1,
      });
    }
  }

  /**
   * One client per account (`password(account)` gives its password). It does not wait for the
   * broker: in the demo the gateway's broker starts after the simulators, so the clients keep
   * reconnecting and what is published meanwhile waits in their queue.
   */
  static start(o: {
    url: string;
    stations: readonly SimStation[];
    password: (account: string) => string;
    seed?: number;
  }): BinStationSimulator {
    const sim = new BinStationSimulator(o.stations, o.seed ?? 1);
    for (const account of new Set(o.stations.map((s) => s.account))) {
      const c = connect(o.url, {
        protocolVersion: 4,
        // A device account's client id starts with its user name.
        clientId: `${account}:bin-sim`,
        username: account,
        password: o.password(account),
        reconnectPeriod: 1000,
      });
      c.on('error', () => {}); // reconnects by itself
      sim.clients.set(account, c);
    }
    return sim;
  }

  state(id: string): Record<string, unknown> {
    const s = this.states.get(id);
    if (!s) throw new Error(`no simulated bin station "${id}"`);
    return { ...s, levels: { ...s.levels } };
  }

  /** Publishes a day of drops: `dropsPerHousehold` per household of every station, in time order, then a status. */
  async publishDay(day: Date, dropsPerHousehold = 2): Promise<SimDrop[]> {
    const start = Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate());
    const planned: { station: SimStation; householdId: string; at: number }[] = [];
    for (const station of this.stations) {
      for (const householdId of station.households) {
        for (let i = 0; i < dropsPerHousehold; i++) {
          // Drops between 06:00 and 22:00.
          planned.push({ station, householdId, at: start + 6 * 3_600_000 + Math.floor(this.rand() * 16 * 3_600_000) });
        }
      }
    }
    planned.sort((a, b) => a.at - b.at);
    const out: SimDrop[] = [];
    for (const p of planned) {
      const category = CATEGORIES[Math.floor(this.rand() * CATEGORIES.length)]!;
      out.push(await this.drop(p.station, { householdId: p.householdId, category }, new Date(p.at)));
    }
    for (const s of this.stations) await this.status(s);
    return out;
  }

  /** The demo's pace: one drop of a random household at a random station, then every station's status (they stay online). */
  async tick(): Promise<void> {
    const station = this.stations[Math.floor(this.rand() * this.stations.length)]!;
    if (station.households.length > 0) {
      const householdId = station.households[Math.floor(this.rand() * station.households.length)]!;
      const category = CATEGORIES[Math.floor(this.rand() * CATEGORIES.length)]!;
      await this.drop(station, { householdId, category }, new Date());
    }
    for (const s of this.stations) await this.status(s);
  }

  /** Applies a change to one station (see `StationChange`); throws a zod error on a bad one. */
  async apply(id: string, body: unknown): Promise<void> {
    const station = this.stations.find((s) => s.id === id);
    if (!station) throw new Error(`no simulated bin station "${id}"`);
    const c = StationChange.parse(body);
    const s = this.states.get(id)!;
    if (c.overheat !== undefined) {
      s.overheat = c.overheat;
      s.temperature = c.overheat ? 72 : 24;
    }
    if (c.smoke !== undefined) s.smoke = c.smoke;
    if (c.tilt !== undefined) s.tilt = c.tilt;
    if (c.door !== undefined) s.doorOpen = c.door;
    if (c.empty) for (const k of CATEGORIES) s.levels[k] = 0;
    if (c.drop) await this.drop(station, c.drop, new Date());
    if (c.garbage) await this.publish(station, `dev/${station.account}/${id}/status`, '{"compartments": {"kitchen": ');
    if (c.oversized) {
      await this.publish(station, `dev/${station.account}/${id}/status`, JSON.stringify({ ...this.statusBody(s), pad: 'x'.repeat(8192) }));
    }
    if (c.foreign) await this.publish(station, `dev/${station.account}/${c.foreign}/status`, JSON.stringify(this.statusBody(s)));
    if (!c.garbage && !c.oversized && !c.foreign) await this.status(station);
  }

  async close(): Promise<void> {
    await Promise.all([...this.clients.values()].map((c) => c.endAsync(true)));
    this.clients.clear();
  }

  private async drop(
    station: SimStation,
    d: { householdId: string; category: Category; weightG?: number; correct?: boolean },
    at: Date,
  ): Promise<SimDrop> {
    const s = this.states.get(station.id)!;
    const [lo, hi] = WEIGHT[d.category];
    const drop: SimDrop = {
      station: station.id,
      dropId: `${station.id}-${s.nextDrop++}`,
      householdId: d.householdId,
      category: d.category,
      weightG: d.weightG ?? lo + Math.floor(this.rand() * (hi - lo)),
      correct: d.correct ?? this.rand() < 0.85,
      time: at.toISOString(),
    };
    s.levels[d.category] = Math.min(100, s.levels[d.category] + (100 * drop.weightG) / CAPACITY_G);
    const { station: _, ...body } = drop;
    await this.publish(station, `dev/${station.account}/${station.id}/drop`, JSON.stringify(body));
    return drop;
  }

  private statusBody(s: StationState): Record<string, unknown> {
    const compartments = Object.fromEntries(
      CATEGORIES.map((c) => [c, { level: Math.round(s.levels[c] * 10) / 10, full: s.levels[c] >= 90 }]),
    );
    return { compartments, temperature: s.temperature, overheat: s.overheat, smoke: s.smoke, tilt: s.tilt, doorOpen: s.doorOpen };
  }

  private async status(station: SimStation): Promise<void> {
    const s = this.states.get(station.id)!;
    await this.publish(station, `dev/${station.account}/${station.id}/status`, JSON.stringify({ ...this.statusBody(s), time: new Date().toISOString() }));
  }

  private async publish(station: SimStation, topic: string, payload: string): Promise<void> {
    await this.clients.get(station.account)!.publishAsync(topic, payload, { qos: 1 });
  }
}
