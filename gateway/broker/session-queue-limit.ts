/**
 * aedes keeps the QoS 1 messages of each persistent session (clean session off, MQTT 3.1.1 §3.1.2.4)
 * in memory until the client acknowledges them, and sets no limit: a subscriber that stays offline
 * would grow the gateway's memory until it is killed. This wraps aedes' in-memory persistence so
 * that each client holds at most `max` unacknowledged messages; beyond it, new messages for that
 * client are dropped and counted. Such a client finds each device's latest state and availability
 * in the retained topics when it returns, and every event stays in the journal.
 */
import aedesPersistence, { type AedesMemoryPersistence } from 'aedes-persistence';

type Persistence = AedesMemoryPersistence;
// A CommonJS module: its default import is `module.exports`, the factory (the bundled types say otherwise).
const memoryPersistence = aedesPersistence as unknown as () => AedesMemoryPersistence;
type Sub = { clientId: string };
type ClientRef = { id: string };

export interface BoundedSessionStore {
  persistence: Persistence;
  /** Messages queued for a client and not yet acknowledged (for tests and stats). */
  queued(clientId: string): number;
}

export function boundedSessionStore(max: number, onDropped: (clientId: string) => void): BoundedSessionStore {
  const p = memoryPersistence();
  const counts = new Map<string, number>();
  const admit = (sub: Sub): boolean => {
    const n = counts.get(sub.clientId) ?? 0;
    if (n >= max) {
      onDropped(sub.clientId);
      return false;
    }
    counts.set(sub.clientId, n + 1);
    return true;
  };
  const enqueueCombi = p.outgoingEnqueueCombi.bind(p) as (subs: Sub[], packet: unknown) => Promise<void>;
  const enqueue = p.outgoingEnqueue.bind(p) as (sub: Sub, packet: unknown) => Promise<void>;
  const clear = p.outgoingClearMessageId.bind(p) as (client: ClientRef, packet: unknown) => Promise<unknown>;
  Object.assign(p, {
    outgoingEnqueueCombi: (subs: Sub[], packet: unknown) => enqueueCombi(subs.filter(admit), packet),
    outgoingEnqueue: (sub: Sub, packet: unknown) => (admit(sub) ? enqueue(sub, packet) : Promise.resolve()),
    outgoingClearMessageId: async (client: ClientRef, packet: unknown) => {
      const removed = await clear(client, packet);
      if (removed) {
        const n = (counts.get(client.id) ?? 1) - 1;
        if (n > 0) counts.set(client.id, n);
        else counts.delete(client.id);
      }
      return removed;
    },
  });
  return { persistence: p, queued: (clientId) => counts.get(clientId) ?? 0 };
}
