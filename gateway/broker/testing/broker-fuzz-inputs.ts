/**
 * The generated inputs of the broker fuzz target (gateway/broker/broker.fuzz.ts): accounts with a
 * cheap password hash, and hostile connections as bytes (random, valid packets of real and unknown
 * accounts, mutated, oversized, forbidden) with what the broker must refuse.
 */
import { scryptSync } from 'node:crypto';
import fc from 'fast-check';
import mqttPacket, { type Packet } from 'mqtt-packet';
import type { DenyReason } from '../broker.js';
import type { Account } from '../broker-config.js';
import { fixedHeader } from '../broker-test-kit.js';

export const MAX_PACKET = 64 * 1024;
export const MAX_CONNECT_PACKET = 4 * 1024;

// Cheap scrypt cost (N=1024): the fuzzer logs in thousands of times; the cost does not change the paths.
function cheapHash(password: string): string {
  const salt = Buffer.from('fuzz-salt-16byte');
  const hash = scryptSync(password, salt, 32, { N: 1024, r: 8, p: 1 });
  return ['scrypt', 1024, 8, 1, salt.toString('base64'), hash.toString('base64')].join('$');
}

export const PASSWORDS = {
  'fuzz-dev': 'fuzz-dev-pass',
  watcher: 'watcher-pass',
  // The healthy clients' accounts: the generated inputs never know these passwords.
  control: 'control-secret',
  'healthy-dev': 'healthy-secret',
} as const;
type Known = keyof typeof PASSWORDS;
const FUZZ_USERS = ['fuzz-dev', 'watcher', 'control', 'healthy-dev', 'nobody'] as const;

export function accounts(): Account[] {
  return [
    { username: 'fuzz-dev', role: 'device', passwordHash: cheapHash(PASSWORDS['fuzz-dev']) },
    { username: 'watcher', role: 'reader', subscribe: ['cg/#', 'dev/#'], passwordHash: cheapHash(PASSWORDS.watcher) },
    { username: 'control', role: 'admin', passwordHash: cheapHash(PASSWORDS.control) },
    { username: 'healthy-dev', role: 'device', passwordHash: cheapHash(PASSWORDS['healthy-dev']) },
  ];
}

// ---- generated inputs ------------------------------------------------------------------------

type Mutation =
  | { kind: 'none' }
  | { kind: 'flip'; at: number[]; xor: number }
  | { kind: 'truncate'; keep: number }
  | { kind: 'append'; bytes: Uint8Array }
  | { kind: 'wrong-length'; length: number }
  | { kind: 'flags'; flags: number };

/** One hostile connection: the bytes it sends, and whether the broker must refuse it (and why). */
export interface Input {
  label: string;
  bytes: Buffer;
  /** Cut points (fractions of the length): the bytes are written in these chunks. */
  cuts: number[];
  /** Wait for the CONNACK before sending what follows the first packet. */
  waitConnack: boolean;
  /** Position of the first packet's end, when waitConnack. */
  firstLength: number;
  mustRefuse?: readonly DenyReason[];
  /** Last octet of the 127.0.0.x address the connection comes from (2..250). */
  host: number;
}

const topicArb = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 40 }).map((s) => `dev/fuzz-dev/${s.replaceAll(/[#+]/g, '')}`) },
  fc.constantFrom(
    'dev/fuzz-dev/telemetry',
    'dev/fuzz-dev/cmd/open',
    'dev/healthy-dev/telemetry',
    'dev/other/x',
    'cg/v1/s/g/status',
    '$SYS/x',
    'cg/fuzz/ping/1',
    '',
    '#',
    'dev/+/x',
  ),
  fc.string({ maxLength: 40 }).map((s) => `dev/fuzz-dev/${s}`),
  fc.string({ maxLength: 60 }),
);
const filterArb = fc.oneof(
  fc.constantFrom('#', '+/#', 'dev/#', 'dev/fuzz-dev/cmd/#', 'cg/#', '$SYS/#', 'a/#/b', 'a+', '', 'cg/fuzz/#'),
  fc.string({ maxLength: 40 }),
);
const clientIdArb = fc.oneof(
  fc.constantFrom('fuzz-dev', 'control-1', 'healthy-dev', 'healthy-dev:1', 'watcher-1', ''),
  fc.string({ maxLength: 30 }).map((s) => `fuzz-dev:${s}`),
  fc.string({ maxLength: 64 }),
);
const payloadArb = fc.oneof(
  { weight: 8, arbitrary: fc.uint8Array({ maxLength: 512 }) },
  { weight: 1, arbitrary: fc.integer({ min: MAX_PACKET - 64, max: MAX_PACKET + 4096 }).map((n) => new Uint8Array(n)) },
);
const msgId = fc.integer({ min: 1, max: 65535 });

function connectArb(user: fc.Arbitrary<string | undefined>, rightPassword: boolean | undefined) {
  return fc.record({
    protocolVersion: fc.constantFrom(4, 4, 4, 4, 4, 3, 5),
    clean: fc.boolean(),
    keepalive: fc.integer({ min: 0, max: 65535 }),
    clientId: clientIdArb,
    username: user,
    right:
      rightPassword === undefined
        ? fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) })
        : fc.constant(rightPassword),
    /** A device uses an id in its own namespace (most of the time, so that sessions get past CONNECT). */
    ownId: fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
    will: fc.option(fc.record({ topic: topicArb, payload: fc.uint8Array({ maxLength: 200 }), qos: fc.constantFrom(0, 1, 2), retain: fc.boolean() })),
  });
}
type ConnectSpec = ReturnType<typeof connectArb> extends fc.Arbitrary<infer T> ? T : never;

function connectBytes(c: ConnectSpec): Buffer {
  const password =
    c.username === undefined
      ? undefined
      : c.right && c.username in PASSWORDS && c.username !== 'control' && c.username !== 'healthy-dev'
        ? PASSWORDS[c.username as Known]
        : `wrong-${c.keepalive}`;
  const packet: mqttPacket.IConnectPacket = {
    cmd: 'connect',
    protocolId: c.protocolVersion === 3 ? 'MQIsdp' : 'MQTT',
    protocolVersion: c.protocolVersion as 3 | 4 | 5,
    clean: c.clean,
    keepalive: c.keepalive,
    clientId: c.ownId && c.username === 'fuzz-dev' ? `fuzz-dev:${c.clientId}` : c.clientId,
    ...(c.username !== undefined ? { username: c.username } : {}),
    ...(password !== undefined ? { password: Buffer.from(password) } : {}),
    ...(c.will ? { will: { ...c.will, payload: Buffer.from(c.will.payload), qos: c.will.qos as 0 | 1 | 2 } } : {}),
  };
  // The generator refuses some combinations (an empty client id without clean session, an empty
  // will topic): fall back to the nearest one it accepts.
  const { will: _will, ...withoutWill } = packet;
  for (const candidate of [packet, { ...packet, clean: true, clientId: c.clientId || 'x' }, { ...withoutWill, clean: true, clientId: c.clientId || 'x' }]) {
    try {
      return mqttPacket.generate(candidate, { protocolVersion: c.protocolVersion });
    } catch {
      // next candidate
    }
  }
  return mqttPacket.generate({ ...withoutWill, protocolVersion: 4, protocolId: 'MQTT', clean: true, clientId: 'x' });
}

const packetArb: fc.Arbitrary<Packet> = fc.oneof(
  fc.record({
    cmd: fc.constant('publish' as const),
    topic: topicArb,
    payload: payloadArb.map((p) => Buffer.from(p)),
    qos: fc.constantFrom(0, 1, 2) as fc.Arbitrary<0 | 1 | 2>,
    retain: fc.boolean(),
    dup: fc.boolean(),
    messageId: msgId,
  }),
  fc.record({
    cmd: fc.constant('subscribe' as const),
    messageId: msgId,
    subscriptions: fc.array(
      fc.record({ topic: filterArb, qos: fc.constantFrom(0, 1, 2) as fc.Arbitrary<0 | 1 | 2> }),
      { minLength: 1, maxLength: 5 },
    ),
  }),
  fc.record({
    cmd: fc.constant('unsubscribe' as const),
    messageId: msgId,
    unsubscriptions: fc.array(filterArb, { minLength: 1, maxLength: 3 }),
  }),
  fc.constant({ cmd: 'pingreq' as const }),
  fc.constant({ cmd: 'disconnect' as const }),
  fc.record({ cmd: fc.constantFrom('puback' as const, 'pubrec' as const, 'pubrel' as const, 'pubcomp' as const), messageId: msgId }),
);

function packetBytes(p: Packet): Buffer {
  try {
    return mqttPacket.generate(p);
  } catch {
    return Buffer.from([0xc0, 0x00]); // PINGREQ: the generator refused the combination
  }
}

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ kind: 'none' as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('flip' as const), at: fc.array(fc.nat(), { minLength: 1, maxLength: 4 }), xor: fc.integer({ min: 1, max: 255 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), keep: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('append' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('wrong-length' as const), length: fc.oneof(fc.nat({ max: 300 }), fc.nat({ max: 268_435_455 })) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('flags' as const), flags: fc.integer({ min: 0, max: 15 }) }) },
);

/** Applies a mutation to one encoded packet. */
function mutate(bytes: Buffer, m: Mutation): Buffer {
  switch (m.kind) {
    case 'none':
      return bytes;
    case 'flip': {
      const out = Buffer.from(bytes);
      for (const i of m.at) out[i % out.length] = out[i % out.length]! ^ m.xor;
      return out;
    }
    case 'truncate':
      return bytes.subarray(0, m.keep % Math.max(1, bytes.length));
    case 'append':
      return Buffer.concat([bytes, Buffer.from(m.bytes)]);
    case 'wrong-length': {
      let i = 1;
      while (i < bytes.length && bytes[i]! & 0x80) i++;
      const body = bytes.subarray(i + 1);
      return Buffer.concat([fixedHeader(bytes[0]! >> 4, m.length, bytes[0]! & 0x0f), body]);
    }
    case 'flags': {
      const out = Buffer.from(bytes);
      out[0] = (out[0]! & 0xf0) | m.flags;
      return out;
    }
  }
}

const cutsArb = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 6 });
const hostArb = fc.integer({ min: 2, max: 250 });

const inputKinds: fc.Arbitrary<Input>[] = [
  // random bytes (a first byte that is not a CONNECT must be refused at once)
  fc.record({ bytes: fc.uint8Array({ minLength: 1, maxLength: 2048 }), cuts: cutsArb, host: hostArb }).map(({ bytes, cuts, host }) => {
    const b = Buffer.from(bytes);
    const notConnect = b[0]! >> 4 !== 1;
    return {
      label: 'random bytes',
      bytes: b,
      cuts,
      waitConnack: false,
      firstLength: 0,
      host,
      ...(notConnect ? { mustRefuse: ['first-packet-not-connect'] as const } : {}),
    };
  }),
  // an oversized packet announced first, then filler
  fc
    .record({
      type: fc.integer({ min: 0, max: 15 }),
      length: fc.integer({ min: MAX_CONNECT_PACKET, max: 268_435_455 }),
      filler: fc.integer({ min: 0, max: 512 * 1024 }),
      cuts: cutsArb,
      host: hostArb,
    })
    .map(({ type, length, filler, cuts, host }) => ({
      label: `oversized type ${type} announcing ${length}`,
      bytes: Buffer.concat([fixedHeader(type, length), Buffer.alloc(filler, 0x61)]),
      cuts,
      waitConnack: false,
      firstLength: 0,
      host,
      mustRefuse: type === 1 ? (['packet-too-large'] as const) : (['first-packet-not-connect'] as const),
    })),
  // a login with a wrong password (or an unknown user name)
  fc.record({ c: connectArb(fc.constantFrom(...FUZZ_USERS), false), host: hostArb }).map(({ c, host }) => {
    const bytes = connectBytes({ ...c, protocolVersion: 4 });
    return { label: `wrong password for ${c.username}`, bytes, cuts: [], waitConnack: false, firstLength: bytes.length, host, mustRefuse: ['bad-credentials', 'client-id-empty'] as const };
  }),
  // a device logged in, publishing where it may not (another device, its own commands, the gateway's topics)
  fc
    .record({
      topic: fc.constantFrom('dev/healthy-dev/telemetry', 'dev/fuzz-dev/cmd/open', 'cg/v1/s/g/status', 'dev/other/x'),
      qos: fc.constantFrom(0, 1) as fc.Arbitrary<0 | 1>,
      id: fc.string({ maxLength: 10 }),
      host: hostArb,
    })
    .map(({ topic, qos, id, host }) => {
      const connect = connectBytes({ protocolVersion: 4, clean: true, keepalive: 60, clientId: id, ownId: true, username: 'fuzz-dev', right: true, will: null });
      const publish = packetBytes({ cmd: 'publish', topic, payload: Buffer.from('forged'), qos, retain: false, dup: false, messageId: 7 });
      return { label: `forbidden publish to ${topic}`, bytes: Buffer.concat([connect, publish]), cuts: [], waitConnack: true, firstLength: connect.length, host, mustRefuse: ['acl'] as const };
    }),
  // a CONNECT (any account, right or wrong password) and a sequence of packets, each maybe mutated
  fc
    .record({
      c: connectArb(
        fc.oneof(
          { weight: 4, arbitrary: fc.constantFrom('fuzz-dev', 'watcher') },
          { weight: 1, arbitrary: fc.constantFrom(...FUZZ_USERS) },
          { weight: 1, arbitrary: fc.constant(undefined) },
        ),
        undefined,
      ),
      connectMutation: fc.oneof({ weight: 5, arbitrary: fc.constant({ kind: 'none' as const }) }, { weight: 1, arbitrary: mutationArb }),
      packets: fc.array(fc.tuple(packetArb, mutationArb), { maxLength: 8 }),
      waitConnack: fc.boolean(),
      cuts: cutsArb,
      host: hostArb,
    })
    .map(({ c, connectMutation, packets, waitConnack, cuts, host }) => {
      const connect = mutate(connectBytes(c), connectMutation as Mutation);
      const rest = packets.map(([p, m]) => mutate(packetBytes(p), m));
      return {
        label: `session of ${c.username ?? 'anonymous'} (${packets.map(([p, m]) => `${p.cmd}${m.kind === 'none' ? '' : `~${m.kind}`}`).join(', ')})`,
        bytes: Buffer.concat([connect, ...rest]),
        cuts,
        waitConnack,
        firstLength: connect.length,
        host,
      };
    }),
];
/** Sessions past CONNECT weigh most: that is where the parser and aedes see the most packet kinds. */
const KIND_WEIGHTS = [2, 1, 1, 1, 4];
export const inputArb: fc.Arbitrary<Input> = fc.oneof(
  ...inputKinds.map((arbitrary, i) => ({ weight: KIND_WEIGHTS[i] ?? 1, arbitrary })),
);
