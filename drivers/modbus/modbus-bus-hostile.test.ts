/**
 * ModbusBus against a hostile slave (simulators/common/hostile-modbus-slave.ts): regression tests
 * for what fuzzing found. Unit 1 is a healthy unit, unit 2 misbehaves as scripted. Assertions are
 * on error codes, on what was read, and on the requests and connections the slave counted.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Misbehaviour } from '../../simulators/common/hostile-behaviour.js';
import {
  type HostileRtuSlave,
  type HostileTcpSlave,
  startHostileModbusRtu,
  startHostileModbusTcp,
} from '../../simulators/common/hostile-modbus-slave.js';
import { patternModel } from '../../simulators/common/modbus-frames.js';
import { openPtyPair } from '../../simulators/common/pty-pair.js';
import { ModbusBus } from './modbus-bus.js';
import { ModbusError } from './modbus-errors.js';
import { waitFor } from '../../gateway/testing/wait-for.js';

const TIMEOUT_MS = 400; // generous: a loaded machine must not turn a healthy answer into a timeout
const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function tcpSlave(): Promise<HostileTcpSlave> {
  const s = await startHostileModbusTcp();
  cleanup.push(() => s.close());
  return s;
}

async function rtuSlave(): Promise<{ slave: HostileRtuSlave; path: string }> {
  const pty = await openPtyPair();
  cleanup.push(() => pty.close());
  const slave = await startHostileModbusRtu({ path: pty.a, baudRate: 115_200 });
  cleanup.push(() => slave.close());
  return { slave, path: pty.b };
}

async function connectedBus(transport: 'tcp' | 'rtu', where: number | string): Promise<ModbusBus> {
  const b = new ModbusBus({
    transport:
      transport === 'tcp'
        ? { type: 'tcp', host: '127.0.0.1', port: where as number }
        : { type: 'rtu', path: where as string, baudRate: 115_200, parity: 'none', dataBits: 8, stopBits: 1 },
    timeoutMs: TIMEOUT_MS,
    backoff: { initialMs: 50, maxMs: 200 },
  });
  cleanup.push(() => b.close());
  b.start();
  await waitFor('bus connected', () => b.connected);
  return b;
}

const failure = (p: Promise<unknown>) =>
  p.then(
    (v) => ({ code: 'resolved', message: JSON.stringify(v) }),
    (e: unknown) =>
      e instanceof ModbusError
        ? { code: e.code, message: e.message }
        : { code: 'not a ModbusError', message: String(e) },
  );

const words = (unitId: number, address: number, n: number) => patternModel.read(unitId, 3, address, n);

describe('ModbusBus against a hostile Modbus TCP slave', () => {
  it('refuses an answer whose MBAP protocol identifier is not Modbus (0), for reads and writes', async () => {
    const s = await tcpSlave();
    const b = await connectedBus('tcp', s.port);
    s.script(2, [{ kind: 'wrong-protocol', protocolId: 5939 }]);
    const write = await failure(b.writeCoil(2, 10, false));
    expect(write.code).toBe('MODBUS_BAD_RESPONSE');
    expect(write.message).toMatch(/protocol identifier 5939/);
    s.script(2, [{ kind: 'wrong-protocol', protocolId: 1 }]);
    expect(await failure(b.readHolding(2, 0, 3))).toMatchObject({ code: 'MODBUS_BAD_RESPONSE' });
    expect(await b.readHolding(2, 0, 3)).toEqual(words(2, 0, 3));
  });

  it('refuses a write echo cut short and completed by the first bytes of a late answer (concurrent requests)', async () => {
    const s = await tcpSlave();
    const b = await connectedBus('tcp', s.port);
    // Unit 2's behaviours go to its requests in the order they are sent: the high-priority write
    // coil goes right after the read in flight. Its echo (12 bytes) is cut after 11; the answer to
    // the read, late, lands 200 ms into the write's time and its first byte (transaction id high,
    // 0) completes the echo as the right one; the rest of it is no MBAP header.
    s.script(2, [
      { kind: 'late', ms: TIMEOUT_MS + 200 },
      { kind: 'truncated', keep: 14 },
      { kind: 'wrong-protocol', protocolId: 5939 },
    ]);
    const [read, coils, registers, register, coil] = await Promise.all([
      failure(b.readHolding(2, 98, 17)),
      failure(b.readCoils(1, 2, 15)),
      failure(b.writeRegisters(2, 6, [18567, 39625, 12274])),
      failure(b.writeRegister(1, 79, 15720)),
      failure(b.writeCoil(2, 10, false, 'high')),
    ]);
    expect(read.code).toBe('MODBUS_TIMEOUT');
    expect(coil.code).toBe('MODBUS_BAD_RESPONSE'); // it used to resolve
    expect(coil.message).toMatch(/completed by a later piece of the stream/);
    expect(registers).toMatchObject({
      code: 'MODBUS_BAD_RESPONSE',
      message: expect.stringMatching(/protocol identifier 5939/),
    });
    const bits = patternModel.read(1, 1, 2, 15)?.map((v) => v === 1);
    expect(coils).toEqual({ code: 'resolved', message: JSON.stringify(bits) });
    expect(register.code).toBe('resolved');
    expect(s.answeredHonestly({ unitId: 2, fc: 5, address: 10, quantity: 0 })).toBe(false);
  });

  it('refuses reads whose byte count disagrees with the quantity (it used to return too few or too many)', async () => {
    const s = await tcpSlave();
    const b = await connectedBus('tcp', s.port);
    for (const delta of [-2, 2]) {
      s.script(2, [{ kind: 'wrong-byte-count', delta }]);
      const f = await failure(b.readHolding(2, 0, 5));
      expect(f.code).toBe('MODBUS_BAD_RESPONSE');
      expect(f.message).toMatch(/byte count must be 10/);
    }
    s.script(2, [{ kind: 'wrong-byte-count', delta: 1 }]);
    expect(await failure(b.readCoils(2, 0, 12))).toMatchObject({ code: 'MODBUS_BAD_RESPONSE' });
    expect(await b.readHolding(2, 0, 5)).toEqual(words(2, 0, 5));
  });

  it('refuses writes whose echo is not the request (it used to accept any echo)', async () => {
    const s = await tcpSlave();
    const b = await connectedBus('tcp', s.port);
    const cases: [Misbehaviour, () => Promise<unknown>][] = [
      [{ kind: 'wrong-echo', field: 'address', xor: 1 }, () => b.writeCoil(2, 4, true)],
      // 0x0000 ^ 0xfff1: not 0xFF00, so the library's boolean said OFF, as written
      [{ kind: 'wrong-echo', field: 'value', xor: 0xfff1 }, () => b.writeCoil(2, 4, false)],
      [{ kind: 'wrong-echo', field: 'value', xor: 1 }, () => b.writeRegister(2, 7, 1234)],
      [{ kind: 'wrong-echo', field: 'address', xor: 8 }, () => b.writeRegister(2, 7, 1234)],
      [{ kind: 'wrong-echo', field: 'value', xor: 2 }, () => b.writeRegisters(2, 7, [1, 2, 3])],
    ];
    for (const [behaviour, write] of cases) {
      s.script(2, [behaviour]);
      const f = await failure(write());
      expect(f.code, JSON.stringify(behaviour)).toBe('MODBUS_BAD_RESPONSE');
      expect(f.message).toMatch(/wrong echo/);
      await b.readHolding(1, 0, 1); // a valid answer between: five bad ones in a row re-open the connection
    }
    await b.writeCoil(2, 4, false);
    await b.writeRegisters(2, 7, [1, 2, 3]);
  });

  it('drops the remains of a broken answer: the next request is answered at once, same connection', async () => {
    const s = await tcpSlave();
    const b = await connectedBus('tcp', s.port);
    const broken: Misbehaviour[] = [
      { kind: 'truncated', keep: 5 },
      { kind: 'garbage', bytes: [1, 2, 3] },
      { kind: 'oversized', extra: 5, fill: 0x41 },
      { kind: 'wrong-mbap-length', delta: 3 },
      { kind: 'slow-drip', everyMs: 40 },
    ];
    for (const behaviour of broken) {
      s.script(2, [behaviour]);
      await failure(b.readHolding(2, 0, 5));
      s.calm(); // stops the drip
      const before = s.requests(1);
      expect(await failure(b.readHolding(1, 0, 3)), JSON.stringify(behaviour)).toEqual({
        code: 'resolved',
        message: JSON.stringify(words(1, 0, 3)),
      });
      expect(s.requests(1) - before).toBe(1);
    }
    expect(s.connections).toBe(1);
  });

  it('notices a reset in flight at once and says so, then reconnects', async () => {
    const s = await tcpSlave();
    const b = await connectedBus('tcp', s.port);
    const reasons: string[] = [];
    b.on('disconnected', (r) => reasons.push(r));
    s.script(2, [{ kind: 'reset' }]);
    const f = await failure(b.readHolding(2, 0, 1));
    expect(f.code).toBe('MODBUS_CONNECTION_LOST');
    expect(f.message).toMatch(/connection reset \(ECONNRESET\)/); // not "no answer (timed out)"
    expect(reasons).toEqual([expect.stringMatching(/connection reset/)]);
    expect(await failure(b.readHolding(1, 0, 1))).toMatchObject({
      code: 'MODBUS_NOT_CONNECTED',
      message: expect.stringMatching(/bus not connected \(connection reset \(ECONNRESET\); reconnecting\)/),
    });
    await waitFor('bus reconnected', () => b.connected);
    expect(await b.readHolding(1, 0, 1)).toEqual(words(1, 0, 1));
    expect(s.connections).toBe(2);
  });

  it('notices a reset or a close of an idle connection without a request', async () => {
    const s = await tcpSlave();
    const b = await connectedBus('tcp', s.port);
    const reasons: string[] = [];
    b.on('disconnected', (r) => reasons.push(r));
    s.resetConnections();
    await waitFor('the reset noticed', () => reasons.length === 1);
    expect(reasons[0]).toMatch(/connection reset/);
    await waitFor('bus reconnected', () => b.connected);
    s.script(2, [{ kind: 'close' }]);
    expect((await failure(b.readHolding(2, 0, 1))).code).toBe('MODBUS_CONNECTION_LOST');
    expect(reasons[1]).toBe('connection closed by the peer');
    await waitFor('bus reconnected', () => b.connected);
    expect(await b.readHolding(1, 0, 1)).toEqual(words(1, 0, 1));
    expect(s.connections).toBe(3);
  });

  it('refuses an exception response from another unit id (it used to take it for the polled unit)', async () => {
    const s = await tcpSlave();
    const b = await connectedBus('tcp', s.port);
    s.script(2, [{ kind: 'exception', code: 2, unitId: 7 }]);
    expect(await failure(b.readHolding(2, 0, 1))).toMatchObject({
      code: 'MODBUS_BAD_RESPONSE',
      message: expect.stringMatching(/exception response from unit 7/),
    });
    s.script(2, [{ kind: 'exception', code: 2 }]);
    expect((await failure(b.readHolding(2, 0, 1))).code).toBe('MODBUS_EXCEPTION');
  });

  it('re-opens a connection on which only malformed answers arrive; exceptions are valid answers', async () => {
    const s = await tcpSlave();
    const b = await connectedBus('tcp', s.port);
    let drops = 0;
    b.on('disconnected', () => drops++);
    s.setDefault(2, { kind: 'exception', code: 4 });
    for (let i = 0; i < 6; i++) expect((await failure(b.readHolding(2, 0, 1))).code).toBe('MODBUS_EXCEPTION');
    expect(drops).toBe(0);
    s.setDefault(2, { kind: 'wrong-length', delta: 3 });
    for (let i = 0; i < 5; i++) {
      expect((await failure(b.readHolding(2, 0, 1))).code).toBe('MODBUS_BAD_RESPONSE');
    }
    expect(drops).toBe(1);
    await waitFor('bus reconnected', () => b.connected);
    expect(s.connections).toBe(2);
  });
});

describe('ModbusBus against a hostile Modbus RTU slave (pty pair)', () => {
  it('drops a partial frame left on the line before the next request (it used to misframe the answer)', async () => {
    const { slave, path } = await rtuSlave();
    const b = await connectedBus('rtu', path);
    for (const behaviour of [
      { kind: 'truncated', keep: 6 },
      { kind: 'garbage', bytes: [2, 3, 10, 0] },
    ] satisfies Misbehaviour[]) {
      slave.script(2, [behaviour]);
      expect((await failure(b.readHolding(2, 0, 5))).code).toBe('MODBUS_TIMEOUT');
      expect(await failure(b.readHolding(2, 10, 5)), JSON.stringify(behaviour)).toEqual({
        code: 'resolved',
        message: JSON.stringify(words(2, 10, 5)),
      });
    }
  });

  it('refuses a CRC-valid frame whose byte count is wrong, and a wrong echo', async () => {
    const { slave, path } = await rtuSlave();
    const b = await connectedBus('rtu', path);
    slave.script(2, [{ kind: 'wrong-byte-count', delta: -2 }]);
    expect((await failure(b.readHolding(2, 0, 5))).code).toBe('MODBUS_BAD_RESPONSE');
    slave.script(2, [{ kind: 'wrong-echo', field: 'value', xor: 1 }]);
    expect((await failure(b.writeRegister(2, 3, 99))).code).toBe('MODBUS_BAD_RESPONSE');
    slave.script(2, [{ kind: 'bad-crc' }]);
    expect(await failure(b.readHolding(2, 0, 5))).toMatchObject({
      code: 'MODBUS_BAD_RESPONSE',
      message: expect.stringMatching(/CRC/),
    });
    expect(await b.readHolding(2, 0, 5)).toEqual(words(2, 0, 5));
  });
});
