/**
 * Section `relay-overload`: the relay floor (relay-child.ts: subscribe and republish to the bus
 * and the city, nothing else) in a process of its own, under the overload of the peer harness
 * (peer.ts): telemetry at 3x the gateway's capacity with high-gas readings on the same path.
 * Its rate sweep is the `bare-relay` section's; this one adds what the relay does under overload,
 * and its RSS without the broker.
 */
import { spawn } from 'node:child_process';
import { peerResult } from './node-red.js';
import { type PeerSystem, ROOT, runPeer, stopProcess } from './peer.js';
import type { BenchOptions, SectionResult } from './types.js';

const relaySystem: PeerSystem = {
  start: async (local, city) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', new URL('./relay-child.ts', import.meta.url).pathname, local.url, city.url, ROOT], {
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    if (!proc.pid) throw new Error('could not start the relay process');
    const pid = proc.pid;
    const exited = new Promise<void>((r) => proc.once('exit', () => r()));
    return {
      pid,
      stop: () => stopProcess(proc, exited, 10_000),
    };
  },
};

export async function benchRelayOverload(opts: BenchOptions): Promise<SectionResult> {
  const devices = opts.quick ? 2_000 : 4_000;
  const run = await runPeer(opts, relaySystem, { devices, sweep: false });
  return peerResult(run, {
    what: 'relay',
    method: [
      `The relay: an MQTT.js client in its own process (scripts/bench/relay-child.ts, run under tsx), subscribed to \`dev/#\` on the local bus, republishing each message untouched under \`<root>/events/...\` on the local bus and to the city broker (two bare aedes on 127.0.0.1 in the bench process). Device messages: gas-publisher-child.ts, ${devices} detectors; a detector's topic names the type its status register says, which is all the relay routes on.`,
      'The cold start figure is that of this process (no site file: the relay knows no devices).',
    ],
  });
}
