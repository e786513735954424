/**
 * A Modbus master on ONE physical bus — a Modbus TCP connection or one RS-485 line on a serial
 * port — shared by every unit on it, family-agnostic (gas detectors, charging piles, lamps).
 *
 * - One queue per bus: strictly one request in flight. On a serial line there is a single
 *   master and one transaction at a time (Modbus over Serial Line V1.02 §2.1, §2.4); on RTU a
 *   second request would corrupt the first, since frames carry no transaction id.
 * - Per-request timeout (the library's response timeout), plus a guard in case the port never
 *   calls back at all.
 * - Before each request, bytes still waiting in the port's receive buffer are dropped: with one
 *   request in flight they can only be the remains of an earlier answer (truncated, oversized,
 *   late, dripping), and left there they would misframe the next answer.
 * - A response is accepted only if it answers the request: besides the library's unit id,
 *   function code, length and CRC checks, the byte count of reads (§6.1-6.4), the echo of
 *   writes (§6.5, §6.6, §6.12) and the unit id of exception responses must match; on TCP, the
 *   frame the library matched by transaction id must carry protocol identifier 0 and must not
 *   be an answer cut short that the next piece of the stream completed while carrying on with
 *   bytes that start no MBAP header (the tail of another answer glued to it). Anything else
 *   is MODBUS_BAD_RESPONSE.
 * - The connection is opened in the background and re-opened with exponential backoff and
 *   jitter whenever it is lost (ECONNRESET, "Port Not Open", port closed, serial error, the
 *   adapter unplugged). On TCP, a reset or close of the socket is noticed at once, and a
 *   connection on which several requests in a row got no valid answer (timeouts, malformed
 *   frames) is re-opened, which also resynchronises a stream a peer has misframed.
 *   Requests made while it is down fail at once with MODBUS_NOT_CONNECTED; nothing throws out.
 */
import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { errorMessage } from '../../gateway/core/errors.js';
import type { Logger } from '../../gateway/core/logger.js';
import { Backoff } from '../../gateway/core/backoff.js';
import { flushReceived, type FrameTap, tapFrames } from './modbus-client-internals.js';
import {
  type Client,
  disposeClient,
  ModbusRTU,
  openClient,
  silentIntervalMs,
  watchPort,
} from './modbus-connection.js';
import { ModbusError, toModbusError } from './modbus-errors.js';
import {
  bitsProblem,
  coilEchoProblem,
  multipleEchoProblem,
  registerEchoProblem,
  registersProblem,
} from './modbus-response-checks.js';
import { describeTransport, type ModbusTransport } from './modbus-transport.js';
import { type Priority, SerialQueue } from './serial-queue.js';

export interface ModbusBusOptions {
  transport: ModbusTransport;
  /** Response timeout of one request, ms. */
  timeoutMs: number;
  /** Reconnect backoff. */
  backoff: { initialMs: number; maxMs: number };
  /** Bound on opening the connection, ms; default max(2000, 4 × timeoutMs). */
  connectTimeoutMs?: number;
  /**
   * TCP: this many requests in a row without a valid answer from any unit (timeouts, malformed
   * frames) mean the connection is dead without having been reset (half-open) or its byte stream
   * is misframed: reconnect. Default 5. Serial lines have no such state.
   */
  reconnectAfterTimeouts?: number;
  log?: Logger;
}

export interface ModbusBusEvents {
  connected: [];
  disconnected: [reason: string];
}

type State = 'idle' | 'connecting' | 'connected' | 'waiting' | 'closed';

/** Extra time past the response timeout after which a request that got no callback at all counts as a wedged port. */
const GUARD_MS = 1000;

export class ModbusBus extends EventEmitter<ModbusBusEvents> {
  readonly name: string;
  private state: State = 'idle';
  private client?: Client;
  private retryTimer?: NodeJS.Timeout;
  private readonly queue = new SerialQueue();
  private readonly backoff: Backoff;
  /** RTU: silent interval between frames, ms (0 on TCP). */
  private readonly gapMs: number;
  private lastFrameEnd = 0;
  private failedInARow = 0;
  /** Why the bus is not connected (for MODBUS_NOT_CONNECTED messages). */
  private downReason = 'not connected yet';
  /** The frames the current connection's port delivers. */
  private frames?: FrameTap;
  /** Fails the request in flight; set while one is (destroying a TCP client cancels its own timeouts). */
  private abortInFlight?: (err: ModbusError) => void;

  constructor(private readonly o: ModbusBusOptions) {
    super();
    this.name = describeTransport(o.transport);
    this.backoff = new Backoff(o.backoff);
    this.gapMs = o.transport.type === 'rtu' ? silentIntervalMs(o.transport.baudRate) : 0;
  }

  get connected(): boolean {
    return this.state === 'connected' && this.client?.isOpen === true;
  }

  /** Requests queued or in flight (0 when the bus is idle). */
  get pending(): number {
    return this.queue.size;
  }

  /** Starts connecting in the background. Never waits for the device, never throws. */
  start(): void {
    if (this.state === 'idle') void this.connect();
  }

  /** FC3 Read Holding Registers (Modbus Application Protocol V1.1b3 §6.3). */
  async readHolding(unitId: number, address: number, length: number, priority?: Priority): Promise<number[]> {
    const r = await this.request(
      unitId,
      `read holding ${address}+${length}`,
      priority,
      (c) => c.readHoldingRegisters(address, length),
      (res) => registersProblem(res, length),
    );
    return r.data;
  }

  /** FC4 Read Input Registers (§6.4). */
  async readInput(unitId: number, address: number, length: number, priority?: Priority): Promise<number[]> {
    const r = await this.request(
      unitId,
      `read input ${address}+${length}`,
      priority,
      (c) => c.readInputRegisters(address, length),
      (res) => registersProblem(res, length),
    );
    return r.data;
  }

  /** FC1 Read Coils (§6.1). */
  async readCoils(unitId: number, address: number, length: number, priority?: Priority): Promise<boolean[]> {
    const r = await this.request(
      unitId,
      `read coils ${address}+${length}`,
      priority,
      (c) => c.readCoils(address, length),
      (res) => bitsProblem(res, length),
    );
    return r.data.slice(0, length);
  }

  /** FC2 Read Discrete Inputs (§6.2). */
  async readDiscreteInputs(
    unitId: number,
    address: number,
    length: number,
    priority?: Priority,
  ): Promise<boolean[]> {
    const r = await this.request(
      unitId,
      `read discrete inputs ${address}+${length}`,
      priority,
      (c) => c.readDiscreteInputs(address, length),
      (res) => bitsProblem(res, length),
    );
    return r.data.slice(0, length);
  }

  /** FC5 Write Single Coil (§6.5): true = ON (0xFF00). */
  async writeCoil(unitId: number, address: number, value: boolean, priority?: Priority): Promise<void> {
    await this.request(
      unitId,
      `write coil ${address}`,
      priority,
      (c) => c.writeCoil(address, value),
      (res, frame) => coilEchoProblem(res, address, value, frame),
    );
  }

  /** FC6 Write Single Register (§6.6). */
  async writeRegister(unitId: number, address: number, value: number, priority?: Priority): Promise<void> {
    await this.request(
      unitId,
      `write register ${address}`,
      priority,
      (c) => c.writeRegister(address, value),
      (res) => registerEchoProblem(res, address, value),
    );
  }

  /** FC16 Write Multiple Registers (§6.12). */
  async writeRegisters(
    unitId: number,
    address: number,
    values: number[],
    priority?: Priority,
  ): Promise<void> {
    await this.request(
      unitId,
      `write registers ${address}+${values.length}`,
      priority,
      (c) => c.writeRegisters(address, values),
      (res) => multipleEchoProblem(res, address, values.length),
    );
  }

  /** Stops reconnecting, fails waiting requests with MODBUS_CLOSED and closes the port. Never throws. */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    clearTimeout(this.retryTimer);
    const closed = new ModbusError('MODBUS_CLOSED', `${this.name}: bus closed`);
    this.queue.close(closed);
    this.abortInFlight?.(closed);
    const client = this.client;
    this.client = undefined;
    if (client) await disposeClient(client, this.o.transport);
  }

  private request<T>(
    unitId: number,
    what: string,
    priority: Priority | undefined,
    op: (c: Client) => Promise<T>,
    /** What is wrong with a response the library accepted (`frame`: the frame it came in), if anything. */
    problem: (result: T, frame: Buffer | undefined) => string | undefined,
  ): Promise<T> {
    const label = `${this.name} unit ${unitId} ${what}`;
    return this.queue.run(async () => {
      const client = this.client;
      if (this.state !== 'connected' || !client?.isOpen) {
        if (client) this.lost(client, 'port not open');
        throw new ModbusError('MODBUS_NOT_CONNECTED', `${label}: bus not connected (${this.downReason})`);
      }
      if (this.gapMs) await this.silentInterval();
      const stale = flushReceived(client);
      if (stale) this.o.log?.debug({ bus: this.name, bytes: stale }, 'modbus bus dropped stale received bytes');
      client.setID(unitId);
      const transactionId = this.frames?.begin();
      let guard: NodeJS.Timeout | undefined;
      const watchdog = new Promise<never>((_, reject) => {
        this.abortInFlight = reject;
        const wedged = new ModbusError(
          'MODBUS_CONNECTION_LOST',
          `${label}: the port gave no answer nor timeout`,
        );
        guard = setTimeout(() => reject(wedged), this.o.timeoutMs + GUARD_MS);
      });
      try {
        const result = await Promise.race([op(client), watchdog]);
        const answer = this.frames?.answer(transactionId);
        const protocolId = answer?.protocolId;
        const wrong =
          protocolId !== undefined && protocolId !== 0
            ? `protocol identifier ${protocolId} in the MBAP header is not Modbus (0)`
            : (answer?.spliced ?? problem(result, answer?.frame));
        if (wrong) throw new ModbusError('MODBUS_BAD_RESPONSE', `${label}: ${wrong}`);
        this.failedInARow = 0;
        return result;
      } catch (err) {
        let failure = toModbusError(err, label);
        const from = this.frames?.answer(transactionId)?.frame[0];
        if (failure.code === 'MODBUS_EXCEPTION' && from !== undefined && from !== unitId) {
          // the library checks the unit id of normal responses only
          failure = new ModbusError('MODBUS_BAD_RESPONSE', `${label}: exception response from unit ${from}`);
        }
        // The port closed under the request (should watchPort not have seen it, the request timed out).
        if (!client.isOpen && failure.code !== 'MODBUS_EXCEPTION') {
          failure = new ModbusError(
            'MODBUS_CONNECTION_LOST',
            `connection lost: ${failure.message}`,
            undefined,
            {
              cause: err,
            },
          );
        }
        this.judgeConnection(client, failure);
        throw failure;
      } finally {
        clearTimeout(guard);
        this.abortInFlight = undefined;
        this.lastFrameEnd = performance.now();
      }
    }, priority);
  }

  /**
   * What a failed request says about the connection: lost; alive (a unit answered with an exception,
   * a valid frame); or, after too many timeouts and malformed frames in a row on TCP, half-open or
   * misframed.
   */
  private judgeConnection(client: Client, e: ModbusError): void {
    if (e.code === 'MODBUS_CONNECTION_LOST' || e.code === 'MODBUS_NOT_CONNECTED') {
      this.lost(client, e.message);
    } else if (e.code === 'MODBUS_EXCEPTION') {
      this.failedInARow = 0;
    } else {
      this.failedInARow += 1;
      const limit = this.o.reconnectAfterTimeouts ?? 5;
      if (this.o.transport.type === 'tcp' && this.failedInARow >= limit) {
        this.lost(client, `${this.failedInARow} requests in a row got no valid answer (last: ${e.code})`);
      }
    }
  }

  /** Modbus over Serial Line V1.02 §2.5.1.1: frames are separated by a silent interval of at least 3.5 characters. */
  private async silentInterval(): Promise<void> {
    const wait = this.lastFrameEnd + this.gapMs - performance.now();
    if (wait > 0) await sleep(wait);
  }

  private async connect(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'connecting';
    const client = new ModbusRTU();
    // The client re-emits serial port errors; without a listener an 'error' event would crash the process.
    client.on('error', (err: unknown) => this.lost(client, `port error: ${errorMessage(err)}`));
    client.on('close', () => this.lost(client, 'port closed'));
    let deadline: NodeJS.Timeout | undefined;
    try {
      const limit = this.o.connectTimeoutMs ?? Math.max(2000, 4 * this.o.timeoutMs);
      await Promise.race([
        openClient(client, this.o.transport),
        new Promise<never>((_, reject) => {
          deadline = setTimeout(() => reject(new Error(`no connection within ${limit} ms`)), limit);
        }),
      ]);
    } catch (err) {
      void disposeClient(client, this.o.transport);
      this.retryLater(`connect failed: ${errorMessage(err)}`);
      return;
    } finally {
      clearTimeout(deadline);
    }
    if ((this.state as State) !== 'connecting') {
      void disposeClient(client, this.o.transport);
      return;
    }
    client.setTimeout(this.o.timeoutMs);
    watchPort(client, (reason) => this.lost(client, reason));
    this.frames = tapFrames(client);
    this.client = client;
    this.failedInARow = 0;
    this.state = 'connected';
    this.backoff.reset();
    this.o.log?.info({ bus: this.name }, 'modbus bus connected');
    this.emit('connected');
  }

  /** The connection of `client` is gone: drop it and reconnect later (once per connection). */
  private lost(client: Client, reason: string): void {
    if (client !== this.client || this.state !== 'connected') return;
    this.client = undefined;
    this.abortInFlight?.(new ModbusError('MODBUS_CONNECTION_LOST', `${this.name}: ${reason}`));
    void disposeClient(client, this.o.transport);
    this.o.log?.warn({ bus: this.name, reason }, 'modbus bus connection lost');
    this.emit('disconnected', reason);
    this.retryLater(reason);
  }

  private retryLater(reason: string): void {
    if (this.state === 'closed') return;
    this.state = 'waiting';
    this.downReason = `${reason}; reconnecting`;
    const delay = this.backoff.next();
    this.o.log?.debug({ bus: this.name, reason, retryInMs: delay }, 'modbus bus reconnect scheduled');
    this.retryTimer = setTimeout(() => void this.connect(), delay);
  }
}

export { silentIntervalMs } from './modbus-connection.js';
