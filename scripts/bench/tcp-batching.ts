/**
 * How the bench's relays (the relay floor, the relay peer under overload) and the relay's device
 * publisher write to TCP: Nagle's algorithm off, as the gateway's broker and uplink have it, and
 * what one turn of the event loop writes held back (corked) until the turn ends, so it leaves in
 * one segment, as the gateway's broker does per connection. With Nagle on instead, a small
 * publish written while the previous one is unacknowledged waits for the peer's delayed ACK (up
 * to 40 ms on Linux): the relay's latency measured TCP's timers, not the relay.
 */
import type { Socket } from 'node:net';

export function batchWritesPerTurn(socket: Socket): void {
  socket.setNoDelay(true);
  const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
  let holding = false;
  socket.write = ((...args: unknown[]) => {
    if (!holding) {
      holding = true;
      socket.cork();
      setImmediate(() => {
        holding = false;
        socket.uncork();
      });
    }
    return write(...args);
  }) as Socket['write'];
}
