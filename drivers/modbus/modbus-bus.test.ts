/**
 * ModbusBus against a real Modbus TCP server (the gas-detector simulator on loopback):
 * serialisation, exception and timeout mapping, and recovery from lost connections.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type RunningGasSimulatorTcp, startGasSimulatorTcp } from '../../simulators/gas-detector/index.js';
import { freePort } from '../../gateway/core/free-port.js';
import { ModbusBus } from './modbus-bus.js';
import { ModbusError } from './modbus-errors.js';
import { waitFor } from '../../gateway/testing/wait-for.js';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function simulator(port?: number): Promise<RunningGasSimulatorTcp> {
  const s = await startGasSimulatorTcp({
    port,
    units: [{ unitId: 1, lel: 12.5 }, { unitId: 2, lel: 30 }, 3],
  });
  cleanup.push(() => s.close());
  return s;
}

function bus(port: number, timeoutMs = 200): ModbusBus {
  const b = new ModbusBus({
    transport: { type: 'tcp', host: '127.0.0.1', port },
    timeoutMs,
    backoff: { initialMs: 100, maxMs: 400 },
  });
  cleanup.push(() => b.close());
  b.start();
  return b;
}

const code = (p: Promise<unknown>) =>
  p.then(
    () => 'resolved',
    (e: unknown) => (e instanceof ModbusError ? e.code : `not a ModbusError: ${String(e)}`),
  );

describe('ModbusBus over TCP', () => {
  it('never has two requests in flight, even when asked concurrently', async () => {
    const s = await simulator();
    s.sim.setResponseDelay(1, 15);
    s.sim.setResponseDelay(2, 15);
    const b = bus(s.port);
    await waitFor('bus connected', () => b.connected);
    const reads = await Promise.all(Array.from({ length: 8 }, (_, i) => b.readHolding(i % 2 ? 2 : 1, 0, 5)));
    expect(reads.map((r) => r[0])).toEqual([125, 300, 125, 300, 125, 300, 125, 300]);
    expect(s.sim.maxPending).toBe(1);
  });

  it('maps exception responses and silent units, and stays connected', async () => {
    const s = await simulator();
    const b = bus(s.port);
    await waitFor('bus connected', () => b.connected);
    const err = await b.readHolding(1, 100, 2).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModbusError);
    expect(err).toMatchObject({ code: 'MODBUS_EXCEPTION', exceptionCode: 2 });
    s.sim.setResponding(3, false);
    expect(await code(b.readHolding(3, 0, 5))).toBe('MODBUS_TIMEOUT');
    expect(await code(b.readHolding(9, 0, 5))).toBe('MODBUS_TIMEOUT'); // no such unit on the bus
    expect(b.connected).toBe(true);
    expect(await b.readHolding(2, 0, 1)).toEqual([300]);
    await b.writeCoil(2, 0, true);
    expect(await b.readCoils(2, 0, 1)).toEqual([true]);
    expect(s.sim.getValve(2)).toBe(true);
  });

  it('recovers from ECONNRESET: fails fast while down, reconnects with backoff', async () => {
    const s = await simulator();
    const b = bus(s.port);
    await waitFor('bus connected', () => b.connected);
    const lost = new Promise<string>((resolve) => b.once('disconnected', resolve));
    s.resetConnections();
    // the reset surfaces on the next request (connection lost / not connected), never as a crash
    const failures: string[] = [];
    await waitFor('the bus to notice the reset', async () => {
      failures.push(await code(b.readHolding(1, 0, 1)));
      return !b.connected;
    });
    expect(await lost).toBeTruthy();
    const faults = failures.filter((f) => f !== 'resolved');
    expect(faults.length).toBeGreaterThan(0);
    for (const f of faults) expect(f).toMatch(/^MODBUS_(CONNECTION_LOST|NOT_CONNECTED)$/);
    expect(await code(b.readHolding(1, 0, 1))).toBe('MODBUS_NOT_CONNECTED');
    await waitFor('bus reconnected', () => b.connected);
    expect(await b.readHolding(1, 0, 1)).toEqual([125]);
  });

  it('reconnects when every request times out (a half-open TCP connection), not for one silent unit', async () => {
    const s = await simulator();
    const b = bus(s.port, 100);
    await waitFor('bus connected', () => b.connected);
    let drops = 0;
    b.on('disconnected', () => drops++);
    s.sim.setResponding(3, false);
    for (let i = 0; i < 6; i++) {
      expect(await code(b.readHolding(3, 0, 1))).toBe('MODBUS_TIMEOUT');
      expect(await b.readHolding(1, 0, 1)).toEqual([125]); // the line still answers
    }
    expect(drops).toBe(0);
    for (const u of [1, 2]) s.sim.setResponding(u, false);
    const codes: string[] = [];
    for (let i = 0; i < 5; i++) codes.push(await code(b.readHolding((i % 3) + 1, 0, 1)));
    expect(codes).toEqual(Array(5).fill('MODBUS_TIMEOUT'));
    expect(drops).toBe(1);
    expect(b.connected).toBe(false);
    for (const u of [1, 2, 3]) s.sim.setResponding(u, true);
    await waitFor('bus reconnected', () => b.connected);
    expect(await b.readHolding(2, 0, 1)).toEqual([300]);
  });

  it('starts without a server, and connects once the server appears', async () => {
    const port = await freePort();
    const b = bus(port);
    expect(b.connected).toBe(false);
    expect(await code(b.readHolding(1, 0, 1))).toBe('MODBUS_NOT_CONNECTED');
    await simulator(port);
    await waitFor('bus connected', () => b.connected);
    expect(await b.readHolding(1, 0, 1)).toEqual([125]);
  });

  it('reconnects after the server restarts on the same port', async () => {
    const first = await startGasSimulatorTcp({ units: [{ unitId: 1, lel: 40 }] });
    const b = bus(first.port);
    await waitFor('bus connected', () => b.connected);
    expect(await b.readHolding(1, 0, 1)).toEqual([400]);
    await first.close();
    await waitFor('the bus to notice the server is gone', async () => {
      await b.readHolding(1, 0, 1).catch(() => undefined);
      return !b.connected;
    });
    await simulator(first.port);
    await waitFor('bus reconnected', () => b.connected);
    expect(await b.readHolding(1, 0, 1)).toEqual([125]);
  });

  it('close() fails waiting requests with MODBUS_CLOSED and later ones too', async () => {
    const s = await simulator();
    s.sim.setResponseDelay(1, 30);
    const b = bus(s.port);
    await waitFor('bus connected', () => b.connected);
    const first = b.readHolding(1, 0, 1);
    const waiting = code(b.readHolding(1, 0, 1));
    await b.close();
    expect(await waiting).toBe('MODBUS_CLOSED');
    await first.catch(() => undefined);
    expect(await code(b.readHolding(1, 0, 1))).toBe('MODBUS_CLOSED');
  });
});
