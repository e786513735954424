/**
 * The device side of the peer sections (Node-RED, relay), in its own process: an MQTT.js client
 * publishing gas-detector device messages open loop, on the same schedule as the pipeline's load.
 * Each message is what a poll of a `generic-lel` detector returns (its 5 holding registers) with
 * a sequence number: `{"seq":n,"regs":[lel*10, status, low*10, high*10, fault]}` on
 * `dev/gas-detector/<id>/<type>`, the type the detector's own status register says (gas.reading,
 * gas.alarm.low, gas.alarm.high: a relay can only route on that; Node-RED recomputes it from the
 * registers). Readings at an alarm level go at QoS 1, the rest at QoS 0.
 * It records when it sent each message (its own clock) and hands the times over after each step.
 *
 * ops: `offer {rate, durationMs, mix}` — mix `sweep`: the pipeline's level cycle (1 message in 10
 * above the low threshold); `quiet`: telemetry only, plus `alarmsPerS` high-gas readings on their
 * own schedule (their seqs are returned). `ping {}`: one quiet reading now (cold start probe).
 *
 * argv: <mqtt url> <devices>
 */
import mqtt from 'mqtt';
import { serveParent } from './ipc.js';
import { openLoop } from './load.js';
import { now } from './stats.js';

const [url = '', devicesArg = '2000'] = process.argv.slice(2);
const devices = Number(devicesArg);
const topics = Array.from({ length: devices }, (_, i) => `dev/gas-detector/gas-${String(i + 1).padStart(5, '0')}/`);
let seq = 0;

/** The generic-lel register block at a level (%LEL), thresholds 20/50 (status as the detector reports it). */
const regs = (lel: number) => [Math.round(lel * 10), lel >= 50 ? 2 : lel >= 20 ? 1 : 0, 200, 500, 0];
interface Reading {
  words: string;
  type: string;
  qos: 0 | 1;
}
const reading = (lel: number): Reading => ({
  words: JSON.stringify(regs(lel)),
  type: lel >= 50 ? 'gas.alarm.high' : lel >= 20 ? 'gas.alarm.low' : 'gas.reading',
  qos: lel >= 20 ? 1 : 0,
});
/** The pipeline's level cycle (gas-load.ts): one step in ten is above the low threshold. */
const SWEEP = [2, 5, 8, 11, 14, 25, 12, 9, 6, 3].map(reading);
const QUIET = [2, 5, 8, 11, 14, 17, 14, 11, 8, 5].map(reading);
const HIGH = reading(62);

const client = mqtt.connect(url, { protocolVersion: 4, clean: true, reconnectPeriod: 0, clientId: `bench-gas-pub-${process.pid}` });
client.on('error', (err) => console.error(`[bench gas publisher] ${err.message}`));
// Under the 3x overload the socket stays full for seconds, and MQTT.js waits for 'drain' once per
// QoS 1 publish written meanwhile: thousands of listeners by design, not a leak (no warning for them).
client.stream.setMaxListeners(0);
const connected = new Promise<void>((resolve, reject) => {
  client.once('connect', () => resolve());
  client.once('error', reject);
});

function send(n: number, r: Reading): void {
  client.publish(topics[n % devices]! + r.type, `{"seq":${n},"regs":${r.words}}`, { qos: r.qos });
}

serveParent(
  {
    ready: async () => {
      await connected;
      return {};
    },
    ping: () => {
      send(++seq, QUIET[0]!);
      return { seq, t: now() };
    },
    offer: async (m) => {
      const rate = Number(m.rate);
      const durationMs = Number(m.durationMs);
      const quiet = m.mix === 'quiet';
      const alarmsPerS = Number(m.alarmsPerS ?? 0);
      const cpuMark = process.cpuUsage();
      const cpuT = now();
      const base = seq + 1;
      const t0s = new Float64Array(Math.round((rate * durationMs) / 1000) + Math.ceil((alarmsPerS * durationMs) / 1000) + 16);
      const alarmSeqs: number[] = [];
      const startT = now();
      const r = await openLoop(rate, durationMs, () => {
        const n = ++seq;
        t0s[n - base] = now();
        const step = Math.floor(n / devices) % 10;
        send(n, (quiet ? QUIET : SWEEP)[step]!);
        // High-gas readings on their own schedule, between telemetry messages (bounded by the step).
        while (alarmsPerS && alarmSeqs.length < Math.floor(((now() - startT) * alarmsPerS) / 1000)) {
          const a = ++seq;
          t0s[a - base] = now();
          alarmSeqs.push(a);
          send(a, HIGH);
        }
        return 1;
      });
      const u = process.cpuUsage(cpuMark);
      const cpu = (u.user + u.system) / 1000 / (now() - cpuT);
      return { ...r, base, t0s: t0s.subarray(0, seq - base + 1).slice(), alarmSeqs, cpu };
    },
  },
  () => new Promise<void>((resolve) => client.end(false, {}, () => resolve())),
);
