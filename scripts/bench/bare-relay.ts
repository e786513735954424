/**
 * Section `bare-relay`: the floor this runtime allows for "device message in, local publish out".
 * A bare aedes broker and an MQTT.js relay client in one process (as the gateway holds its broker
 * and its logic in one process): the relay subscribes to the device topics and republishes each
 * message on an event topic, nothing else. Devices publish from a child process; the same
 * measuring subscriber as the pipeline section reads the event topics from another child.
 */
import { createServer, type Socket } from 'node:net';
import { Aedes } from 'aedes';
import mqtt from 'mqtt';
import { stampEvent } from '../../gateway/core/envelope.js';
import { topicRoot } from '../../gateway/core/topics.js';
import { GasFleet } from './gas-load.js';
import { batchWritesPerTurn } from './tcp-batching.js';
import { Child } from './ipc.js';
import { STEP_COLUMNS, type StepDriver, SUSTAINED, stepCells, sweep } from './load.js';
import { cpuMeter, fmt, MB, rssSampler } from './stats.js';
import type { BenchOptions, SectionResult } from './types.js';

/** Mean size of the pipeline's envelopes for the same load (built the same way, not timed). */
function envelopeSize(): number {
  const fleet = new GasFleet(12);
  let bytes = 0;
  let n = 0;
  for (let i = 0; i < 120; i++) {
    const r = fleet.poll(new Date());
    if (!r.ok) continue;
    for (const e of r.events) {
      const device = fleet.devices.get(e.deviceId)!;
      bytes += JSON.stringify(
        stampEvent(e, { site: 'bench-site', gateway: 'bench-gw', seq: 1_000_000 + n, device }),
      ).length;
      n++;
    }
  }
  return Math.round(bytes / n);
}

export async function benchBareRelay(opts: BenchOptions): Promise<SectionResult> {
  const deviceCount = opts.quick ? 2_000 : 4_000;
  const bytes = envelopeSize();
  const rss = rssSampler();
  const cpu = cpuMeter();
  const aedes = await Aedes.createBroker();
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    socket.setNoDelay(true); // as the gateway's broker does
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    aedes.handle(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const url = `mqtt://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const outRoot = `${topicRoot('bench-site', 'bench-gw')}/events/`;

  // The relay: subscribe, republish with the same QoS, nothing else.
  let relayed = 0;
  const relay = mqtt.connect(url, {
    protocolVersion: 4,
    clean: true,
    reconnectPeriod: 0,
    clientId: 'bench-relay',
  });
  batchWritesPerTurn(relay.stream as Socket);
  relay.on('message', (topic, payload, packet) => {
    relayed++;
    relay.publish(outRoot + topic.slice(4), payload, { qos: packet.qos === 0 ? 0 : 1 });
  });
  await new Promise<void>((resolve, reject) => {
    relay.once('connect', () =>
      relay.subscribe('dev/#', { qos: 1 }, (err) => (err ? reject(err) : resolve())),
    );
    relay.once('error', reject);
  });

  let sub: Child | undefined;
  let pub: Child | undefined;
  try {
    sub = await Child.start('subscriber-child.ts', [url, `${outRoot}#`, '1']);
    pub = await Child.start('relay-publisher-child.ts', [
      url,
      String(deviceCount),
      String(bytes),
    ]);
    const subClock = await sub.clockOffset();
    const pubClock = await pub.clockOffset();
    const baseRssMB = process.memoryUsage.rss() / MB;
    opts.log(
      `  payload ${bytes} bytes; clock offsets: subscriber ${fmt(subClock.offset, 3)} ms, publisher ${fmt(pubClock.offset, 3)} ms`,
    );
    const publisher = pub;
    const pubCpuAt = new Map<number, number>();
    const driver: StepDriver = {
      async offer(rate, durationMs) {
        const r = await publisher.call<{
          offered: number;
          messages: number;
          startT: number;
          endT: number;
          maxLagMs: number;
          base: number;
          t0s: Float64Array;
          cpu: number;
        }>({ op: 'offer', rate, durationMs }, durationMs + 60_000);
        pubCpuAt.set(rate, r.cpu);
        const off = pubClock.offset;
        return {
          offered: r.offered,
          messages: r.messages,
          startT: r.startT - off,
          endT: r.endT - off,
          maxLagMs: r.maxLagMs,
          t0: (id) => (id >= r.base && id - r.base < r.t0s.length ? r.t0s[id - r.base]! - off : undefined),
        };
      },
      counters: () => ({ relayed }),
      rssMB: () => {
        const peak = rss.peak() / MB;
        rss.reset();
        return peak;
      },
      cpu,
    };
    const { moderate, steps, best } = await sweep(opts, driver, sub, subClock.offset);
    const all = [moderate, ...steps];
    const lost = all.reduce((s, r) => s + r.lost, 0);
    // The sweep ends on a rate that failed twice; a rate that failed once and passed its retry goes on.
    const lastStep = steps.at(-1);
    const firstBad = lastStep && !lastStep.sustained ? lastStep : undefined;
    const transient = steps.filter((r, i) => !r.sustained && steps[i + 1]?.sustained);
    const notes: string[] = [];
    if (transient.length)
      notes.push(`not sustained once, then sustained on retry: ${transient.map((r) => r.label).join(', ')}`);
    if (!best) notes.push('no rate of the sweep was sustained');
    if (firstBad)
      notes.push(
        `at ${firstBad.label} offered, the relay process used ${Math.round(firstBad.cpuUnderTest * 100)}% of a core, the subscriber ${Math.round(firstBad.cpuSubscriber * 100)}%, the publisher ${Math.round((pubCpuAt.get(firstBad.rate) ?? 0) * 100)}%.`,
      );
    return {
      figures: [
        { id: 'payloadBytes', name: 'payload size (pipeline envelope mean)', value: bytes, unit: 'bytes' },
        {
          id: 'maxSustained',
          name: 'max sustained rate (open loop)',
          value: best?.rate ?? 0,
          unit: 'msgs/s',
          summary: true,
        },
        {
          id: 'deliveredAtMax',
          name: 'delivered at max sustained',
          value: Math.round(best?.deliveredPerS ?? 0),
          unit: 'msgs/s',
        },
        {
          id: 'deliveredSaturated',
          name: 'delivered at the rate not sustained',
          value: firstBad ? Math.round(firstBad.deliveredPerS) : 'n/a',
          unit: 'msgs/s',
        },
        {
          id: 'p50At2k',
          name: 'p50 latency at 2,000 msgs/s',
          value: round2(moderate.lat.p50),
          unit: 'ms',
          summary: true,
        },
        {
          id: 'p99At2k',
          name: 'p99 latency at 2,000 msgs/s',
          value: round2(moderate.lat.p99),
          unit: 'ms',
          summary: true,
        },
        { id: 'maxAt2k', name: 'max latency at 2,000 msgs/s', value: round2(moderate.lat.max), unit: 'ms' },
        {
          id: 'p50AtMax',
          name: 'p50 latency at max sustained',
          value: round2(best?.lat.p50 ?? Number.NaN),
          unit: 'ms',
        },
        {
          id: 'p99AtMax',
          name: 'p99 latency at max sustained',
          value: round2(best?.lat.p99 ?? Number.NaN),
          unit: 'ms',
        },
        { id: 'rssBase', name: 'RSS before load', value: Math.round(baseRssMB), unit: 'MB' },
        {
          id: 'rssPeak',
          name: 'peak RSS of the relay process',
          value: Math.round(process.resourceUsage().maxRSS / 1024),
          unit: 'MB',
        },
        { id: 'lost', name: 'messages lost', value: lost, unit: 'msgs', summary: true },
      ],
      tables: [
        {
          title: 'Rate sweep (first row: the fixed moderate rate)',
          columns: STEP_COLUMNS,
          rows: all.map(stepCells),
        },
      ],
      method: [
        `A bare aedes broker (no auth, no hooks) and an MQTT.js relay client in one process on 127.0.0.1: the relay subscribes to \`dev/#\` (QoS 1) and republishes every message under \`<root>/events/...\` with the QoS it came with. Nothing else: no parsing, no storage.`,
        `Devices: an MQTT.js publisher in a child process, ${deviceCount} device topics, payloads of ${bytes} bytes (the pipeline's mean envelope), 1 in 6 at QoS 1 (the pipeline's alarm share), the rest QoS 0; offered open loop on the same schedule and steps as the pipeline.`,
        `Latency: from the publisher's send call to the arrival in the subscriber process (the same subscriber as the pipeline's), clocks calibrated by IPC ping. Sustained: generator within ${SUSTAINED.maxLagMs} ms of schedule and p99 <= ${SUSTAINED.p99Ms} ms.`,
        "Every socket of the path has Nagle's algorithm off, as the gateway's broker and uplink have, and the relay client and the publisher write what one turn of the event loop produces in one go, as the gateway's broker does per connection (scripts/bench/tcp-batching.ts). With Nagle on, a small publish waits for the peer's delayed ACK: the relay's p50 at 2,000 msgs/s was 22 ms that way.",
        'Unlike the pipeline, the messages enter over MQTT (one more parse and one more hop); the pipeline gets its device messages in-process (no Modbus socket).',
      ],
      notes,
    };
  } finally {
    rss.stop();
    await pub?.stop();
    await sub?.stop();
    await new Promise<void>((resolve) => relay.end(true, {}, () => resolve()));
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

function round2(v: number): number {
  return Number.isFinite(v) ? Math.round(v * 100) / 100 : Number.NaN;
}
