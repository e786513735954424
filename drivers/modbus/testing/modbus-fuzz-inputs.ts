/**
 * Generated inputs of the Modbus fuzz target (drivers/modbus/modbus.fuzz.ts): what a hostile
 * slave does with a request, and the requests a master sends.
 */
import fc from 'fast-check';
import type { Misbehaviour, MisbehaviourKind } from '../../../simulators/common/hostile-behaviour.js';

export const HEALTHY = 1;
export const HOSTILE = 2;

/**
 * Kinds after which the request they answer cannot succeed. The others may: an honest frame is
 * among their bytes, and a slow drip that ends within the timeout is a (slow) answer.
 */
export const MUST_FAIL: ReadonlySet<MisbehaviourKind> = new Set<MisbehaviourKind>([
  'silence',
  'exception',
  'wrong-function',
  'wrong-unit',
  'wrong-transaction',
  'wrong-mbap-length',
  'wrong-byte-count',
  'wrong-length',
  'bad-crc',
  'truncated',
  'garbage',
  'late',
  'bad-values',
  'reset',
  'close',
]);

const int = (min: number, max: number) => fc.integer({ min, max });
const nonZero = (min: number, max: number) => int(min, max).filter((n) => n !== 0);
const kind = <K extends MisbehaviourKind>(k: K) => fc.constant(k);

/**
 * What the hostile unit does with one request. `timeoutMs` is the master's response timeout
 * (late answers come after it); `withBadValues` adds well-formed answers with absurd registers,
 * which only a driver's validation can refuse.
 */
export function misbehaviour(
  transport: 'tcp' | 'rtu',
  o: { timeoutMs: number; withBadValues?: boolean },
): fc.Arbitrary<Misbehaviour> {
  const common: fc.Arbitrary<Misbehaviour>[] = [
    fc.constant({ kind: 'honest' as const }),
    fc.record({ kind: kind('split'), at: int(1, 16), gapMs: int(0, 20) }),
    fc.constant({ kind: 'silence' as const }),
    fc.record({ kind: kind('exception'), code: fc.oneof(int(1, 11), int(0, 255)) }),
    fc.record({ kind: kind('exception'), code: int(1, 11), unitId: int(0, 255) }),
    fc.record({ kind: kind('wrong-function'), fc: int(0, 255) }),
    fc.record({ kind: kind('wrong-unit'), unitId: int(0, 255) }),
    fc.record({ kind: kind('wrong-byte-count'), delta: nonZero(-10, 10) }),
    fc.record({ kind: kind('wrong-length'), delta: nonZero(-10, 20) }),
    fc.record({
      kind: kind('wrong-echo'),
      field: fc.constantFrom('address' as const, 'value' as const),
      xor: int(1, 0xffff),
    }),
    fc.record({ kind: kind('truncated'), keep: int(0, 24) }),
    fc.record({ kind: kind('oversized'), extra: fc.oneof(int(1, 20), int(250, 70_000)), fill: int(0, 255) }),
    fc.record({ kind: kind('garbage'), bytes: fc.uint8Array({ minLength: 1, maxLength: 300 }).map((b) => [...b]) }),
    // from a drip that ends within the timeout to a byte per second, which drips on into later requests
    fc.record({ kind: kind('slow-drip'), everyMs: fc.oneof(int(5, 60), int(200, 1000)) }),
    fc.record({ kind: kind('late'), ms: int(o.timeoutMs + 10, o.timeoutMs + 200) }),
    fc.constant({ kind: 'duplicate' as const }),
  ];
  const tcp: fc.Arbitrary<Misbehaviour>[] = [
    fc.record({ kind: kind('wrong-transaction'), delta: int(1, 0xffff) }),
    fc.record({ kind: kind('wrong-protocol'), protocolId: int(1, 0xffff) }),
    fc.record({ kind: kind('wrong-mbap-length'), delta: nonZero(-8, 300) }),
    fc.constant({ kind: 'reset' as const }),
    fc.constant({ kind: 'close' as const }),
  ];
  const rtu: fc.Arbitrary<Misbehaviour>[] = [fc.constant({ kind: 'bad-crc' as const })];
  const values: fc.Arbitrary<Misbehaviour>[] = o.withBadValues
    ? [fc.record({ kind: kind('bad-values'), word: int(0, 0xffff) })]
    : [];
  return fc.oneof(...common, ...(transport === 'tcp' ? tcp : rtu), ...values);
}

export type Op =
  | { fn: 'readHolding' | 'readInput' | 'readCoils' | 'readDiscreteInputs'; address: number; length: number }
  | { fn: 'writeCoil'; address: number; value: boolean }
  | { fn: 'writeRegister'; address: number; value: number }
  | { fn: 'writeRegisters'; address: number; values: number[] };

const address = int(0, 100);
export const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ fn: fc.constantFrom('readHolding' as const, 'readInput' as const), address, length: int(1, 20) }),
  fc.record({
    fn: fc.constantFrom('readCoils' as const, 'readDiscreteInputs' as const),
    address,
    length: int(1, 40),
  }),
  fc.record({ fn: fc.constant('writeCoil' as const), address, value: fc.boolean() }),
  fc.record({ fn: fc.constant('writeRegister' as const), address, value: int(0, 0xffff) }),
  fc.record({
    fn: fc.constant('writeRegisters' as const),
    address,
    values: fc.array(int(0, 0xffff), { minLength: 1, maxLength: 8 }),
  }),
);

export interface Step {
  unitId: number;
  op: Op;
  /** What the slave does with it (the hostile unit only). */
  behaviour: Misbehaviour;
}

/** A batch of requests, two thirds to the hostile unit, sent at once (the bus queues them). */
export const steps = (transport: 'tcp' | 'rtu', timeoutMs: number): fc.Arbitrary<Step[]> =>
  fc.array(
    fc.record({
      unitId: fc.constantFrom(HEALTHY, HOSTILE, HOSTILE),
      op,
      behaviour: misbehaviour(transport, { timeoutMs }),
    }),
    { minLength: 1, maxLength: 6 },
  );

/**
 * A frame cut short, announcing more bytes than it holds, or sent in two pieces, and bytes that
 * come after their time (a late, dripping, repeated or overlong answer) which can land in the cut:
 * Modbus TCP frames carry no checksum, so a master may take the pieces for one frame.
 */
export function maySplice(behaviours: readonly Misbehaviour[]): boolean {
  const kinds = new Set(behaviours.map((b) => b.kind));
  const cut = (['truncated', 'wrong-mbap-length', 'split'] as const).some((k) => kinds.has(k));
  return cut && (['late', 'slow-drip', 'duplicate', 'oversized'] as const).some((k) => kinds.has(k));
}
