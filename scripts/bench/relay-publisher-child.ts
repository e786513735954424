/**
 * The device side of the bare-relay floor, in its own process: an MQTT.js client publishing
 * device messages open loop (same schedule as the pipeline's load), each `{"seq":n,"pad":...}`
 * padded to the pipeline's envelope size, 1 in 6 at QoS 1 (the pipeline's alarm share), the rest QoS 0.
 * It records when it sent each one (its own clock) and hands the times over after each step.
 *
 * argv: <mqtt url> <devices> <payload bytes>
 */
import type { Socket } from 'node:net';
import mqtt from 'mqtt';
import { serveParent } from './ipc.js';
import { openLoop } from './load.js';
import { batchWritesPerTurn } from './tcp-batching.js';
import { now } from './stats.js';

const [url = '', devicesArg = '2000', bytesArg = '400'] = process.argv.slice(2);
const devices = Number(devicesArg);
const bytes = Number(bytesArg);
const topicsIn = Array.from(
  { length: devices },
  (_, i) => `dev/gas-detector/gas-${String(i + 1).padStart(5, '0')}/gas.reading`,
);
let seq = 0;

const client = mqtt.connect(url, {
  protocolVersion: 4,
  clean: true,
  reconnectPeriod: 0,
  clientId: `bench-pub-${process.pid}`,
});
batchWritesPerTurn(client.stream as Socket);
client.on('error', (err) => console.error(`[bench publisher] ${err.message}`));
const connected = new Promise<void>((resolve, reject) => {
  client.once('connect', () => resolve());
  client.once('error', reject);
});

function payload(n: number): string {
  const head = `{"seq":${n},"pad":"`;
  return `${head}${'x'.repeat(Math.max(0, bytes - head.length - 2))}"}`;
}

serveParent(
  {
    ready: async () => {
      await connected;
      return {};
    },
    offer: async (m) => {
      const rate = Number(m.rate);
      const durationMs = Number(m.durationMs);
      const cpuMark = process.cpuUsage();
      const cpuT = now();
      const base = seq + 1;
      const t0s = new Float64Array(Math.round((rate * durationMs) / 1000) + 16);
      const r = await openLoop(rate, durationMs, () => {
        const n = ++seq;
        const t = now();
        t0s[n - base] = t;
        client.publish(topicsIn[n % devices]!, payload(n), { qos: n % 6 === 0 ? 1 : 0 });
        return 1;
      });
      const u = process.cpuUsage(cpuMark);
      const t = now();
      // CPU share of this process while it was offering the load.
      const cpu = (u.user + u.system) / 1000 / (t - cpuT);
      return { ...r, base, t0s: t0s.subarray(0, r.offered).slice(), cpu };
    },
  },
  () => new Promise<void>((resolve) => client.end(false, {}, () => resolve())),
);
