/**
 * Where an alarm's time goes inside the gateway, for the overload section: from its ingest to
 * - its hand-over to the local bus (after its group commit);
 * - its delivery by the broker's emitter (an in-process subscription: after the local-bus window
 *   and aedes' own queue, before any socket);
 * - its write to the alarm subscriber's connection (aedes writes each delivery from a
 *   setImmediate, in a later phase of the event loop's turn).
 * What follows is the kernel and the subscriber process.
 */
import type { Gateway } from '../../gateway/gateway.js';
import { now } from './stats.js';

export interface AlarmPath {
  handed: number[];
  inBroker: number[];
  written: number[];
}

/** Times every alarm whose ingest time `t0` knows (by seq) on `topic`, written to the client `subscriberId`. */
export function timeAlarmPath(g: Gateway, topic: string, subscriberId: string, t0: ReadonlyMap<number, number>): AlarmPath {
  const path: AlarmPath = { handed: [], inBroker: [], written: [] };
  g.pipeline.onDelivered((env) => {
    const t = env.kind === 'alarm' ? t0.get(env.seq) : undefined;
    if (t !== undefined) path.handed.push(now() - t);
  });
  g.broker.aedes.subscribe(
    topic,
    (packet, done) => {
      const at = now();
      try {
        const t = t0.get((JSON.parse(packet.payload.toString()) as { seq: number }).seq);
        if (t !== undefined) path.inBroker.push(at - t);
      } catch {
        // not an envelope: not ours to time
      }
      done();
    },
    () => {},
  );
  type Conn = { write: (chunk: unknown, ...rest: unknown[]) => boolean };
  const conn = (g.broker.aedes as unknown as { clients: Record<string, { conn: Conn } | undefined> }).clients[subscriberId]?.conn;
  if (!conn) throw new Error(`alarm path: the subscriber ${subscriberId} is not connected to the broker`);
  const write = conn.write.bind(conn);
  conn.write = (chunk, ...rest) => {
    // The encoder writes a PUBLISH's payload as one chunk: the envelope's JSON.
    if (Buffer.isBuffer(chunk) && chunk[0] === 0x7b) {
      const seq = /"seq":(\d+)/.exec(chunk.toString('latin1', 0, 200))?.[1];
      const t = seq === undefined ? undefined : t0.get(Number(seq));
      if (t !== undefined) path.written.push(now() - t);
    }
    return write(chunk, ...rest);
  };
  return path;
}
