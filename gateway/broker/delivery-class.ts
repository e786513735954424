import { randomUUID } from 'node:crypto';

/** A packet on its way into aedes, with the fields aedes' duplicate check reads. */
export interface DeliveryClassed {
  qos: number;
  retain: boolean;
  brokerId?: string;
  brokerCounter?: number;
}

/**
 * aedes gives every message a broker-wide counter and a client drops any message whose
 * counter is not above the last one it received (its duplicate check), but QoS 0/1 and
 * retained/plain messages take different numbers of asynchronous steps through aedes, so a
 * QoS 1 message published just before a QoS 0 one arrives second and is silently dropped.
 * Counting per delivery class (QoS x retain), each with its own broker id, keeps the check
 * working within a class, where aedes preserves order, and stops it dropping across classes.
 */
export function deliveryClassStamper(): (packet: DeliveryClassed) => void {
  const prefix = randomUUID();
  // Index qos * 2 + retain: QoS 0, 0 retained, 1, 1 retained, 2, 2 retained.
  const ids = [0, 1, 2].flatMap((qos) => [`${prefix}:q${qos}`, `${prefix}:q${qos}r`]);
  const counters = ids.map(() => 0);
  return (packet) => {
    const cls = packet.qos * 2 + (packet.retain ? 1 : 0);
    packet.brokerId = ids[cls]!;
    packet.brokerCounter = ++counters[cls]!;
  };
}
