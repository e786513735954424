import { randomUUID } from 'node:crypto';

/**
 * aedes gives every message a broker-wide counter and a client drops any message whose
 * counter is not above the last one it received (its duplicate check), but QoS 0/1 and
 * retained/plain messages take different numbers of asynchronous steps through aedes, so a
 * QoS 1 message published just before a QoS 0 one arrives second and is silently dropped.
 * Counting per delivery class (QoS x retain), each with its own broker id, keeps the check
 * working within a class, where aedes preserves order, and stops it dropping across classes.
 */
export function deliveryClassStamper(): (packet: { qos: number; retain: boolean }) => void {
  const prefix = randomUUID();
  const counters = new Map<string, number>();
  return (packet) => {
    const cls = `${prefix}:q${packet.qos}${packet.retain ? 'r' : ''}`;
    const n = (counters.get(cls) ?? 0) + 1;
    counters.set(cls, n);
    Object.assign(packet, { brokerId: cls, brokerCounter: n });
  };
}
