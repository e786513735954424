/**
 * The devices' state on the local bus: the retained topic `<root>/state/<family>/<deviceId>` holds
 * a device's latest telemetry reading that is not historical (docs/mqtt-contract.md). The gateway
 * holds it as that reading's journal seq, one number per device updated in place, and reads the
 * envelope from the journal when a client subscribes; aedes' retained store never holds it.
 *
 * - A SUBSCRIBE whose filter matches state topics gets each matching device's state as a retained
 *   message (MQTT 3.1.1 §3.3.1.3: the server sends the retained messages matching a new
 *   subscription, with RETAIN set), after aedes' own retained messages of that filter; once per
 *   device even where several filters of the SUBSCRIBE match it.
 * - While any client subscription (including one restored for a persistent session, §3.1.2.4) could
 *   match a state topic, `update` answers true and the caller publishes the reading live as well.
 *   Subscriptions are counted where aedes registers every client subscription and removes it
 *   (SUBSCRIBE, a session's restore, UNSUBSCRIBE, the client's close): its `subscribe` and
 *   `unsubscribe` methods. An offline persistent session is not counted: the state is published
 *   at QoS 0, which aedes does not queue for offline clients (optional in §3.1.2.4).
 * - aedes does not store retained messages on state topics, whoever publishes them: a client cannot
 *   plant one that hides the gateway's state (admin accounts may publish under the gateway's root).
 * Which subscriptions get retained messages, and with which RETAIN flag (MQTT 5 §3.8.3.1 Retain
 * Handling and Retain As Published), stays aedes' decision; aedes 1.2 speaks MQTT 3.1.1 only.
 */
import { Readable } from 'node:stream';
import type { Aedes } from 'aedes';
import type { AedesMemoryPersistence } from 'aedes-persistence';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { topics } from '../core/topics.js';
import { topicMatches } from './acl.js';

/** The bodies (envelope JSON) of journal events by seq; a seq no longer in the journal is absent. */
export type ReadBodies = (seqs: readonly number[]) => Map<number, string>;

export interface DeviceStateOptions {
  /** `cg/v1/<site>/<gateway>`. */
  root: string;
  read: ReadBodies;
  log: Logger;
}

type Deliver = Parameters<Aedes['subscribe']>[1];

interface RetainedPacket {
  cmd: 'publish';
  topic: string;
  payload: Buffer;
  qos: 0;
  retain: true;
}

export class DeviceState {
  /** family -> device id -> the device's slot in `seqs` and `topics` (made at its first reading). */
  private readonly slots = new Map<string, Map<string, number>>();
  /** Per slot, the seq of the device's state: a Float64Array, so that an update allocates nothing. */
  private seqs = new Float64Array(256);
  private readonly topics: string[] = [];
  /** The delivery function of every client subscription that could match a state topic (aedes makes one per subscription). */
  private readonly watchers = new Set<Deliver>();
  /** `<root>/state`, level by level. */
  private readonly stateLevels: string[];

  constructor(private readonly o: DeviceStateOptions) {
    this.stateLevels = `${o.root}/state`.split('/');
  }

  /** Records the device's latest non-historical reading; true while a subscription wants it published live. */
  update(family: string, deviceId: string, seq: number): boolean {
    let ids = this.slots.get(family);
    if (!ids) this.slots.set(family, (ids = new Map()));
    let slot = ids.get(deviceId);
    if (slot === undefined) slot = this.add(ids, family, deviceId);
    this.seqs[slot] = seq;
    return this.watchers.size > 0;
  }

  /** True while at least one client subscription could match a state topic. */
  get live(): boolean {
    return this.watchers.size > 0;
  }

  /** Is `topic` a device's state topic, `<root>/state/<family>/<deviceId>`? */
  isStateTopic(topic: string): boolean {
    const levels = topic.split('/');
    const n = this.stateLevels.length;
    if (levels.length !== n + 2 || levels[n] === '' || levels[n + 1] === '') return false;
    return this.stateLevels.every((l, i) => levels[i] === l);
  }

  /** Could the filter match `<root>/state/<family>/<deviceId>` for some family and device id (§4.7)? */
  reachesState(filter: string): boolean {
    const f = filter.split('/');
    const fixed = this.stateLevels;
    // §4.7.2: a filter starting with a wildcard does not match topic names starting with "$".
    if (fixed[0]!.startsWith('$') && (f[0] === '+' || f[0] === '#')) return false;
    for (let i = 0; i < f.length; i++) {
      const level = f[i]!;
      if (level === '#') return true; // also matches the parent level (§4.7.1.2)
      if (i >= fixed.length + 2) return false;
      if (level === '+') continue;
      if (i < fixed.length ? level !== fixed[i] : level === '') return false;
    }
    return f.length === fixed.length + 2;
  }

  /**
   * Hooks into the broker, before any client connects: counts the subscriptions that could match a
   * state topic, keeps state topics out of aedes' retained store, and adds the devices' state to
   * the retained messages a new subscription receives (aedes 1.2 asks only `createRetainedStreamCombi`;
   * `createRetainedStream` is answered the same way).
   */
  attach(aedes: Aedes, persistence: AedesMemoryPersistence): void {
    const subscribe = aedes.subscribe.bind(aedes);
    const unsubscribe = aedes.unsubscribe.bind(aedes);
    aedes.subscribe = (filter, deliver, done) => {
      if (this.reachesState(filter)) this.watchers.add(deliver);
      subscribe(filter, deliver, done);
    };
    aedes.unsubscribe = (filter, deliver, done) => {
      this.watchers.delete(deliver);
      unsubscribe(filter, deliver, done);
    };
    // aedes 1.2 calls the promise-returning methods (aedes-persistence's asyncPersistence.js).
    const store = persistence.storeRetained.bind(persistence) as unknown as (packet: { topic: string }) => Promise<void>;
    const combi = persistence.createRetainedStreamCombi.bind(persistence) as (patterns: string[]) => Readable;
    const retainedStream = (patterns: string[]) => Readable.from(this.merged(combi(patterns), patterns));
    Object.assign(persistence, {
      storeRetained: (packet: { topic: string }) => (this.isStateTopic(packet.topic) ? Promise.resolve() : store(packet)),
      createRetainedStreamCombi: retainedStream,
      createRetainedStream: (pattern: string) => retainedStream([pattern]),
    });
  }

  private add(ids: Map<string, number>, family: string, deviceId: string): number {
    const slot = this.topics.length;
    if (slot === this.seqs.length) {
      const grown = new Float64Array(slot * 2);
      grown.set(this.seqs);
      this.seqs = grown;
    }
    ids.set(deviceId, slot);
    this.topics.push(topics.state(this.o.root, family, deviceId));
    return slot;
  }

  /** aedes' own retained messages for the filters, then the devices' state. */
  private async *merged(own: Readable, patterns: readonly string[]): AsyncGenerator<unknown> {
    yield* own;
    yield* this.retained(patterns);
  }

  /** The state of every device whose state topic one of the filters matches, once each, read now. */
  private *retained(patterns: readonly string[]): Generator<RetainedPacket> {
    const filters = patterns.filter((p) => this.reachesState(p));
    if (filters.length === 0) return;
    const slots: number[] = [];
    for (let s = 0; s < this.topics.length; s++) {
      const topic = this.topics[s]!;
      if (filters.some((f) => topicMatches(f, topic))) slots.push(s);
    }
    const seqs = slots.map((s) => this.seqs[s]!);
    let bodies: Map<number, string>;
    try {
      bodies = this.o.read(seqs);
    } catch (err) {
      this.o.log.error({ err: errorMessage(err) }, 'device state not read from the journal');
      return;
    }
    for (let i = 0; i < slots.length; i++) {
      // Absent once journal retention removed the reading.
      const body = bodies.get(seqs[i]!);
      if (body !== undefined)
        yield { cmd: 'publish', topic: this.topics[slots[i]!]!, payload: Buffer.from(body), qos: 0, retain: true };
    }
  }
}
