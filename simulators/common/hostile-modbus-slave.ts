/**
 * A hostile Modbus slave for fuzzing masters, misbehaving at the byte level: a raw TCP server
 * (Modbus TCP, loopback only) and the same over a serial port (Modbus RTU, e.g. one end of a socat
 * pty pair). Not modbus-serial's servers: those only ever send well-formed frames.
 *
 * Each request of a unit takes the next behaviour of that unit's script (see hostile-behaviour.ts),
 * then the unit's default, then `honest`. A unit nobody scripted is a well-behaved slave answering
 * from the model, so one server plays a healthy unit and a hostile one on the same bus.
 */
import { createServer, type Socket } from 'node:net';
import { SerialPort } from 'serialport';
import {
  type Envelope,
  type Misbehaviour,
  type MisbehaviourKind,
  type Plan,
  planAnswer,
} from './hostile-behaviour.js';
import {
  crc16,
  type ModbusRequest,
  parseRequest,
  patternModel,
  requestPduLength,
  type SlaveModel,
} from './modbus-frames.js';

export interface HostileSlave {
  /** Behaviours for the next requests of this unit, in order (appended to what is left). */
  script(unitId: number, behaviours: readonly Misbehaviour[]): void;
  /** What a unit does once its script is used up (default `honest`). */
  setDefault(unitId: number, b: Misbehaviour): void;
  /** Requests received for a unit (answered or not). */
  requests(unitId: number): number;
  /** The last 10,000 requests: unit, function code and what was done with it. */
  readonly log: readonly { unitId: number; fc: number; kind: MisbehaviourKind }[];
  /** True when a complete, correct answer to this request was sent at least once (to check what a master took). */
  answeredHonestly(req: Pick<ModbusRequest, 'unitId' | 'fc' | 'address' | 'quantity'>): boolean;
  /** Starting addresses of the requests of this unit, function code and quantity that got a correct answer. */
  honestAddresses(unitId: number, fc: number, quantity: number): number[];
  /**
   * Cancels planned answers (drips, late frames), clears every script and default (from now on
   * every unit is honest) and forgets the answers sent.
   */
  calm(): void;
  close(): Promise<void>;
}

export interface HostileTcpSlave extends HostileSlave {
  host: string;
  port: number;
  /** Connections accepted so far. */
  readonly connections: number;
  /** Resets every open connection (RST), whatever is in flight. */
  resetConnections(): void;
}

export interface HostileRtuSlave extends HostileSlave {
  path: string;
}

const LOG_LIMIT = 10_000;
/** Requests a master may send but a slave never waits for past this (the largest ADU is 260 bytes). */
const MAX_PENDING_BYTES = 1024;

/** Scripts, counters and timers shared by both transports. */
class Core {
  readonly log: { unitId: number; fc: number; kind: MisbehaviourKind }[] = [];
  private readonly scripts = new Map<number, Misbehaviour[]>();
  private readonly defaults = new Map<number, Misbehaviour>();
  private readonly counts = new Map<number, number>();
  private readonly honest = new Map<string, Pick<ModbusRequest, 'unitId' | 'fc' | 'address' | 'quantity'>>();
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(readonly model: SlaveModel) {}

  script(unitId: number, behaviours: readonly Misbehaviour[]): void {
    this.scripts.set(unitId, [...(this.scripts.get(unitId) ?? []), ...behaviours]);
  }

  setDefault(unitId: number, b: Misbehaviour): void {
    this.defaults.set(unitId, b);
  }

  requests(unitId: number): number {
    return this.counts.get(unitId) ?? 0;
  }

  answeredHonestly(r: Pick<ModbusRequest, 'unitId' | 'fc' | 'address' | 'quantity'>): boolean {
    return this.honest.has(key(r));
  }

  honestAddresses(unitId: number, fc: number, quantity: number): number[] {
    return [...this.honest.values()]
      .filter((r) => r.unitId === unitId && r.fc === fc && r.quantity === quantity)
      .map((r) => r.address);
  }

  /** Counts the request, picks its behaviour and plans the answer. */
  answer(req: ModbusRequest, env: Envelope): Plan {
    this.counts.set(req.unitId, this.requests(req.unitId) + 1);
    const b = this.scripts.get(req.unitId)?.shift() ?? this.defaults.get(req.unitId) ?? { kind: 'honest' };
    this.log.push({ unitId: req.unitId, fc: req.fc, kind: b.kind });
    if (this.log.length > LOG_LIMIT) this.log.shift();
    const plan = planAnswer(req, b, this.model, env);
    if (plan.honest) {
      const { unitId, fc, address, quantity } = req;
      this.honest.set(key(req), { unitId, fc, address, quantity });
      if (this.honest.size > LOG_LIMIT) this.honest.clear();
    }
    return plan;
  }

  /** Writes the plan's chunks with their delays while `alive()`, then ends the connection if asked. */
  carryOut(
    plan: Plan,
    io: { alive(): boolean; write(b: Buffer): void; end(kind: 'reset' | 'close'): void },
  ): void {
    const step = (i: number) => {
      if (!io.alive()) return;
      const chunk = plan.chunks[i];
      if (!chunk) {
        if (plan.end) io.end(plan.end);
        return;
      }
      const go = () => {
        if (!io.alive()) return;
        io.write(chunk.bytes);
        step(i + 1);
      };
      if (chunk.delayMs <= 0) go();
      else this.later(go, chunk.delayMs);
    };
    step(0);
  }

  calm(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.scripts.clear();
    this.defaults.clear();
    this.honest.clear();
  }

  private later(fn: () => void, ms: number): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }
}

const key = (r: Pick<ModbusRequest, 'unitId' | 'fc' | 'address' | 'quantity'>) =>
  `${r.unitId}:${r.fc}:${r.address}:${r.quantity}`;

function facade(core: Core): HostileSlave {
  return {
    script: (u, b) => core.script(u, b),
    setDefault: (u, b) => core.setDefault(u, b),
    requests: (u) => core.requests(u),
    log: core.log,
    answeredHonestly: (r) => core.answeredHonestly(r),
    honestAddresses: (u, f, q) => core.honestAddresses(u, f, q),
    calm: () => core.calm(),
    close: async () => core.calm(),
  };
}

/** Modbus TCP on 127.0.0.1 (port 0: any free port). Requests are framed by their MBAP header (TCP §3.1.3). */
export async function startHostileModbusTcp(o: { port?: number; model?: SlaveModel } = {}): Promise<HostileTcpSlave> {
  const core = new Core(o.model ?? patternModel);
  const sockets = new Set<Socket>();
  let connections = 0;
  const server = createServer((sock) => {
    connections += 1;
    sockets.add(sock);
    sock.setNoDelay(true);
    sock.on('error', () => {}); // a master that went away
    sock.on('close', () => sockets.delete(sock));
    let buf = Buffer.alloc(0);
    sock.on('data', (data) => {
      buf = Buffer.concat([buf, data]);
      while (buf.length >= 8) {
        const length = buf.readUInt16BE(4); // unit id + PDU
        if (length < 2 || length > 254 || buf.length > MAX_PENDING_BYTES) {
          sock.destroy(); // not a Modbus master
          return;
        }
        if (buf.length < 6 + length) return;
        const transactionId = buf.readUInt16BE(0);
        const req = parseRequest(buf[6] as number, Buffer.from(buf.subarray(7, 6 + length)));
        buf = buf.subarray(6 + length);
        const plan = core.answer(req, { transport: 'tcp', transactionId });
        core.carryOut(plan, {
          alive: () => !sock.destroyed && sockets.has(sock),
          write: (b) => sock.write(b),
          end: (kind) => (kind === 'reset' ? sock.resetAndDestroy() : sock.end()),
        });
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: o.port ?? 0 }, () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    ...facade(core),
    host: '127.0.0.1',
    port,
    get connections() {
      return connections;
    },
    resetConnections: () => {
      for (const s of sockets) s.resetAndDestroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        core.calm();
        for (const s of sockets) s.destroy();
        sockets.clear();
        server.close(() => resolve());
      }),
  };
}

/**
 * Modbus RTU on a serial port. Requests are framed by their function code's length and checked
 * by CRC (Modbus over Serial Line V1.02 §2.5.1.2); a byte that starts no valid frame is dropped.
 */
export function startHostileModbusRtu(o: {
  path: string;
  baudRate?: number;
  model?: SlaveModel;
}): Promise<HostileRtuSlave> {
  const core = new Core(o.model ?? patternModel);
  const port = new SerialPort({ path: o.path, baudRate: o.baudRate ?? 9600, autoOpen: false });
  port.on('error', () => {}); // the other end went away
  let open = false;
  let buf = Buffer.alloc(0);
  port.on('data', (data: Buffer) => {
    buf = Buffer.concat([buf, data]);
    if (buf.length > MAX_PENDING_BYTES) buf = buf.subarray(-256);
    for (;;) {
      if (buf.length < 2) return;
      const pduLength = requestPduLength(buf.subarray(1));
      if (pduLength === undefined) return;
      const frameLength = 1 + pduLength + 2;
      if (pduLength < 0) {
        buf = buf.subarray(1);
        continue;
      }
      if (buf.length < frameLength) return;
      const frame = buf.subarray(0, frameLength);
      if (frame.readUInt16LE(frameLength - 2) !== crc16(frame.subarray(0, -2))) {
        buf = buf.subarray(1);
        continue;
      }
      buf = buf.subarray(frameLength);
      const req = parseRequest(frame[0] as number, Buffer.from(frame.subarray(1, -2)));
      const plan = core.answer(req, { transport: 'rtu', transactionId: 0 });
      core.carryOut(plan, {
        alive: () => open,
        write: (b) => port.write(b),
        end: () => {},
      });
    }
  });
  return new Promise((resolve, reject) => {
    port.open((err) => {
      if (err) {
        reject(err);
        return;
      }
      open = true;
      resolve({
        ...facade(core),
        path: o.path,
        close: () =>
          new Promise<void>((done) => {
            core.calm();
            open = false;
            if (!port.isOpen) done();
            else port.close(() => done());
          }),
      });
    });
  });
}
