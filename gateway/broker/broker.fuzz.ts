/**
 * Fuzz target: raw MQTT byte sequences against the embedded broker (startBroker, TCP on 127.0.0.1).
 *
 * fast-check (seeded, replayable) generates batches of hostile connections, each from its own
 * loopback address: random bytes; valid packets from mqtt-packet's generator (CONNECT, PUBLISH,
 * SUBSCRIBE, UNSUBSCRIBE, PINGREQ, acks, DISCONNECT) for real and unknown accounts, mutated (bytes
 * flipped, truncated, garbage appended, a wrong remaining length, other header flags); fixed headers
 * announcing oversized packets followed by filler; forbidden publishes; wrong passwords; all of it
 * cut into random chunks.
 * Invariants, after every batch:
 *   - no uncaught exception or unhandled rejection (the process is alive);
 *   - a healthy control client (admin) publishes and receives its own QoS 1 message, and a healthy
 *     device's QoS 1 publish reaches the `onDevicePublish` hook and the control client;
 *   - `onDevicePublish` only ever sees topics the publishing account may use;
 *   - inputs that must be refused (oversized or non-CONNECT first packet, wrong password, forbidden
 *     publish) are refused and counted with the expected reason;
 *   - RSS stays within a bound.
 */
import { createConnection, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import { connectAsync, type MqttClient } from 'mqtt';
import { catchUnhandled, type FuzzOutcome, type FuzzTarget } from '../testing/fuzz-target.js';
import { canPublish } from './acl.js';
import { type DeniedEvent, type RunningBroker, startBroker } from './broker.js';
import type { BrokerConfigInput } from './broker-config.js';
import { captureLog } from './broker-test-kit.js';
import {
  accounts,
  type Input,
  inputArb,
  MAX_CONNECT_PACKET,
  MAX_PACKET,
  PASSWORDS,
} from './testing/broker-fuzz-inputs.js';

/** Growth of the process RSS over the whole run above which the run fails. */
const RSS_BOUND_MB = 200;

// ---- running inputs --------------------------------------------------------------------------

class Broken extends Error {}

async function within(what: string, ms: number, check: () => boolean): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Broken(`stuck: ${what} not within ${ms} ms`);
    await sleep(5);
  }
}

function open(port: number, host: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = createConnection({ port, host: '127.0.0.1', localAddress: `127.0.0.${host}` });
    s.once('connect', () => {
      s.off('error', reject);
      s.on('error', () => {});
      resolve(s);
    });
    s.once('error', reject);
  });
}

/** Sends one input; resolves once the broker closed the connection or it went quiet. */
async function send(port: number, input: Input): Promise<{ closedByBroker: boolean }> {
  const s = await open(port, input.host);
  let closed = false;
  let received = 0;
  s.on('data', (d: Buffer) => (received += d.length));
  const whenClosed = new Promise<void>((resolve) =>
    s.once('close', () => {
      closed = true;
      resolve();
    }),
  );
  const write = async (bytes: Buffer) => {
    const points = [...new Set(input.cuts.map((c) => Math.floor(c * bytes.length)))].sort((a, b) => a - b);
    let from = 0;
    for (const to of [...points, bytes.length]) {
      if (closed || to <= from) continue;
      if (!s.write(bytes.subarray(from, to))) await Promise.race([new Promise((r) => s.once('drain', r)), whenClosed]);
      from = to;
      await new Promise((r) => setImmediate(r));
    }
  };
  try {
    if (input.waitConnack && input.firstLength > 0) {
      await write(input.bytes.subarray(0, input.firstLength));
      // the CONNACK (4 bytes), or the broker closing the connection
      await Promise.race([within('a CONNACK', 3_000, () => received >= 4 || closed), whenClosed]);
      await write(input.bytes.subarray(input.firstLength));
    } else {
      await write(input.bytes);
    }
    // must-refuse inputs: the broker closes them (bounded); others get a short quiet period
    await Promise.race([whenClosed, sleep(input.mustRefuse ? 3_000 : 25)]);
    return { closedByBroker: closed };
  } finally {
    s.destroy();
  }
}

interface Healthy {
  control: MqttClient;
  device: MqttClient;
  hookSeen: () => number;
  check(n: number): Promise<void>;
  close(): Promise<void>;
}

async function healthyClients(broker: RunningBroker, hookSeen: () => number): Promise<Healthy> {
  const port = broker.listeners[0]!.port;
  const opts = { protocolVersion: 4 as const, reconnectPeriod: 0, connectTimeout: 5_000 };
  const control = await connectAsync(`mqtt://127.0.0.1:${port}`, { ...opts, clientId: 'control-1', username: 'control', password: PASSWORDS.control });
  const device = await connectAsync(`mqtt://127.0.0.1:${port}`, { ...opts, clientId: 'healthy-dev', username: 'healthy-dev', password: PASSWORDS['healthy-dev'] });
  const got = new Set<string>();
  control.on('message', (topic, payload) => got.add(`${topic}=${payload.toString()}`));
  await control.subscribeAsync(['cg/fuzz/#', 'dev/healthy-dev/#'], { qos: 1 });
  return {
    control,
    device,
    hookSeen,
    async check(n) {
      if (!control.connected) throw new Broken('the control client was disconnected');
      if (!device.connected) throw new Broken('the healthy device was disconnected');
      const hooked = hookSeen();
      await control.publishAsync(`cg/fuzz/ping/${n}`, String(n), { qos: 1 });
      await device.publishAsync('dev/healthy-dev/telemetry', String(n), { qos: 1 });
      await within('the control client to receive its ping and the device telemetry', 5_000, () =>
        got.has(`cg/fuzz/ping/${n}=${n}`) && got.has(`dev/healthy-dev/telemetry=${n}`),
      );
      if (hookSeen() <= hooked) throw new Broken("the healthy device's publish did not reach onDevicePublish");
    },
    async close() {
      await Promise.all([control.endAsync(true), device.endAsync(true)]);
    },
  };
}

export const brokerFuzzTarget: FuzzTarget = {
  id: 'broker',
  title: 'raw MQTT byte sequences (random, mutated, oversized, forbidden) against the embedded broker',
  async run({ numRuns, seed, log }): Promise<FuzzOutcome> {
    let inputs = 0;
    let refused = 0;
    let failures = 0;
    const unhandled = catchUnhandled(log);

    const denied: DeniedEvent[] = [];
    const reasons: Record<string, number> = {};
    let hooked = 0;
    let aclViolations = 0;
    const accts = accounts();
    const byName = new Map(accts.map((a) => [a.username, a]));
    const config: BrokerConfigInput = {
      listeners: [{ type: 'tcp', host: '127.0.0.1', port: 0 }],
      accounts: accts,
      limits: {
        maxPacketBytes: MAX_PACKET,
        maxConnectPacketBytes: MAX_CONNECT_PACKET,
        maxRetainedBytes: 1024 * 1024,
        connectTimeoutMs: 2_000,
      },
      // No lockouts: every wrong password must be answered bad-credentials (throttling has its own tests).
      login: { maxFailuresPerSource: 1_000_000, maxFailuresPerUser: 1_000_000 },
    };
    const { log: brokerLog } = captureLog('fatal');
    const broker = await startBroker(config, {
      demo: false,
      log: brokerLog,
      onDenied: (e) => {
        denied.push(e);
        reasons[e.reason] = (reasons[e.reason] ?? 0) + 1;
      },
      onDevicePublish: async (client, topic) => {
        hooked++;
        const account = client.username ? byName.get(client.username) : undefined;
        if (!account || !canPublish(account, topic)) {
          aclViolations++;
          log(`onDevicePublish saw ${topic} from ${client.username ?? 'anonymous'}`);
        }
      },
    });
    const port = broker.listeners[0]!.port;
    const healthy = await healthyClients(broker, () => hooked);
    const rss0 = process.memoryUsage.rss();
    let maxGrowthMB = 0;
    let batch = 0;

    try {
      const details = await fc.check(
        fc.asyncProperty(fc.array(inputArb, { minLength: 1, maxLength: 4 }), async (batchInputs) => {
          for (const input of batchInputs) {
            const before = denied.length;
            await send(port, input);
            inputs++;
            const mine = denied.slice(before);
            if (mine.length > 0) refused++;
            if (input.mustRefuse) {
              const ok = mine.some((e) => input.mustRefuse!.includes(e.reason));
              if (!ok) {
                throw new Broken(
                  `${input.label}: expected a refusal (${input.mustRefuse.join(' or ')}), got ${mine.map((e) => e.reason).join(', ') || 'none'}`,
                );
              }
            }
          }
          batch++;
          await healthy.check(batch);
          if (aclViolations > 0) throw new Broken(`${aclViolations} publishes reached onDevicePublish outside the ACL`);
          if (unhandled.count > 0) throw new Broken(`${unhandled.count} uncaught exceptions or unhandled rejections`);
          const growth = (process.memoryUsage.rss() - rss0) / 1024 ** 2;
          maxGrowthMB = Math.max(maxGrowthMB, growth);
          if (batch % 100 === 0) {
            const heap = process.memoryUsage().heapUsed / 1024 ** 2;
            log(`batch ${batch}: rss +${growth.toFixed(0)} MB, heap ${heap.toFixed(0)} MB, ${broker.stats().boundClientIds} bound client ids`);
          }
          if (growth > RSS_BOUND_MB) throw new Broken(`RSS grew by ${growth.toFixed(0)} MB (bound ${RSS_BOUND_MB} MB)`);
        }),
        { numRuns: Math.max(1, numRuns), seed, endOnFailure: true },
      );
      if (details.failed) {
        failures++;
        const err = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
        log(`${err}\nseed ${seed}, path ${details.counterexamplePath ?? '?'}`);
      }
    } finally {
      await healthy.close().catch(() => {});
      await broker.close();
      unhandled.stop();
    }
    log(`${inputs} inputs, ${refused} refused, ${failures} failures; refusals by reason: ${JSON.stringify(reasons)}`);
    return {
      inputs,
      refused,
      failures: failures + (failures === 0 && unhandled.count > 0 ? 1 : 0),
      figures: {
        'rss growth MB (max)': Math.round(maxGrowthMB * 10) / 10,
        'device publishes accepted': hooked,
        ...Object.fromEntries(Object.entries(reasons).map(([r, n]) => [`refused: ${r}`, n])),
      },
    };
  },
};
