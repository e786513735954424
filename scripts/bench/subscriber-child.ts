/**
 * The measuring subscriber, in its own process so it shares no event loop with what it
 * measures: an MQTT.js client on the broker under test that parses every delivery, takes its
 * `seq` and notes the arrival time (`now()`, comparable across processes after calibration).
 *
 * argv: <mqtt url> <topic filter> <qos>
 */
import mqtt from 'mqtt';
import { serveParent } from './ipc.js';
import { now } from './stats.js';

const [url = '', filter = '#', qosArg = '1'] = process.argv.slice(2);
const qos = Number(qosArg) === 0 ? 0 : 1;

let ids: number[] = [];
let arrivals: number[] = [];
let count = 0;
let bad = 0;
let cpuMark = process.cpuUsage();
let cpuT = now();

const client = mqtt.connect(url, {
  protocolVersion: 4,
  clean: true,
  reconnectPeriod: 0,
  clientId: `bench-sub-${process.pid}`,
});
client.on('error', (err) => console.error(`[bench subscriber] ${err.message}`));
client.on('message', (_topic, payload) => {
  const t = now();
  let seq: unknown;
  try {
    seq = (JSON.parse(payload.toString()) as { seq?: unknown }).seq;
  } catch {
    seq = undefined;
  }
  if (typeof seq !== 'number') {
    bad++;
    return;
  }
  count++;
  ids.push(seq);
  arrivals.push(t);
});

const connected = new Promise<void>((resolve, reject) => {
  client.once('connect', () =>
    client.subscribe(filter, { qos }, (err, granted) => {
      if (err) return reject(err);
      if (granted?.some((g) => g.qos === 128)) return reject(new Error(`subscription to ${filter} refused`));
      resolve();
    }),
  );
  client.once('error', reject);
});

serveParent(
  {
    ready: async () => {
      await connected;
      return {};
    },
    count: () => ({ count, bad }),
    /** Hands over everything recorded since the last collect, and this process's CPU share. */
    collect: () => {
      const u = process.cpuUsage(cpuMark);
      const t = now();
      const cpu = (u.user + u.system) / 1000 / (t - cpuT);
      cpuMark = process.cpuUsage();
      cpuT = t;
      const out = { ids: Float64Array.from(ids), arrivals: Float64Array.from(arrivals), count, bad, cpu };
      ids = [];
      arrivals = [];
      count = 0;
      bad = 0;
      return out;
    },
  },
  () => new Promise<void>((resolve) => client.end(true, {}, () => resolve())),
);
