/**
 * The compound rig of the chaos and soak runs, all on 127.0.0.1:
 * - simulated gas detectors on Modbus TCP (one simulator per bus, at most 247 units each),
 *   whose levels move at a chosen rate, with a gas alarm now and then;
 * - a real mosquitto as the city broker, started and stopped by its pid (`down`/`up`);
 * - a recorder of what reaches the city broker (city-recorder.ts);
 * - the real `gateway start` command in a child process, killed and restarted by its pid.
 * Every loop here is bounded by its caller; `close()` stops only what the rig started.
 */
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { connectAsync, type MqttClient } from 'mqtt';
import { type GatewayProcess, gatewayReady, spawnGateway, tempDir, writeSiteConfig } from '../../gateway/e2e/testing/harness.js';
import { freePort, type Mosquitto, startMosquitto } from '../../gateway/uplink/testing/mosquitto.js';
import { type RunningGasSimulatorTcp, startGasSimulatorTcp } from '../../simulators/gas-detector/index.js';
import { CityRecorder } from './city-recorder.js';

export const SITE = 'chaos-site';
export const GATEWAY = 'gw-chaos';
export const ROOT = `cg/v1/${SITE}/${GATEWAY}`;

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A small seeded PRNG (mulberry32): the same seed gives the same kill moments and load. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface RigOptions {
  /** Modbus buses (one simulator and one driver instance each). */
  buses: number;
  unitsPerBus: number;
  pollIntervalMs: number;
  /** Uplink reconnect backoff of the gateway. */
  backoff?: { initialMs: number; maxMs: number };
  /** Keep the temp dir (database, logs) after close, e.g. to look at a failure. */
  keep?: boolean;
  seed: number;
  log?: (line: string) => void;
}

/** Moves the simulated detectors' levels at a chosen rate, with a high gas alarm now and then. */
export class GasLoad {
  alarmsStarted = 0;
  private timer?: NodeJS.Timeout;
  private alarmTimer?: NodeJS.Timeout;
  private readonly holds = new Set<NodeJS.Timeout>();
  private readonly inAlarm = new Set<string>();

  constructor(
    private readonly sims: readonly RunningGasSimulatorTcp[],
    private readonly unitsPerBus: number,
    private readonly rnd: () => number,
  ) {}

  /** `changesPerS` level changes per second across all detectors (each yields about one `gas.reading`). */
  start(changesPerS: number, o: { alarmEveryMs?: number; alarmHoldMs?: number } = {}): void {
    this.stop();
    const tickMs = 50;
    const perTick = (changesPerS * tickMs) / 1000;
    let carry = 0;
    const total = this.sims.length * this.unitsPerBus;
    this.timer = setInterval(() => {
      carry += perTick;
      const n = Math.floor(carry);
      carry -= n;
      for (let i = 0; i < n; i++) {
        const k = Math.floor(this.rnd() * total);
        const b = Math.floor(k / this.unitsPerBus);
        const u = (k % this.unitsPerBus) + 1;
        if (this.inAlarm.has(`${b}:${u}`)) continue;
        // 1..18 %LEL: below the low threshold (20), and a move larger than the deadband
        this.sims[b]!.sim.setLel(u, 1 + Math.floor(this.rnd() * 18));
      }
    }, tickMs);
    if (o.alarmEveryMs) {
      const hold = o.alarmHoldMs ?? 5000;
      this.alarmTimer = setInterval(() => {
        const b = Math.floor(this.rnd() * this.sims.length);
        const u = 1 + Math.floor(this.rnd() * this.unitsPerBus);
        const key = `${b}:${u}`;
        if (this.inAlarm.has(key)) return;
        this.inAlarm.add(key);
        this.alarmsStarted += 1;
        this.sims[b]!.sim.setLel(u, 60); // above the high threshold (50): gas.alarm.high
        const t = setTimeout(() => {
          this.holds.delete(t);
          this.inAlarm.delete(key);
          this.sims[b]!.sim.setLel(u, 3); // gas.normal: the alarm clears
        }, hold);
        this.holds.add(t);
      }, o.alarmEveryMs);
    }
  }

  /** Stops moving levels; every detector goes back to a steady normal level. */
  stop(): void {
    clearInterval(this.timer);
    clearInterval(this.alarmTimer);
    for (const t of this.holds) clearTimeout(t);
    this.holds.clear();
    this.inAlarm.clear();
    for (const s of this.sims) for (const u of s.sim.unitIds()) s.sim.setLel(u, 2);
  }
}

export interface LiveGateway {
  proc: GatewayProcess;
  pid: number;
  opsUrl: string;
  brokerUrl: string;
}

export class Rig {
  readonly dir = tempDir('reliability-');
  readonly dbPath = join(this.dir, 'gateway.db');
  configFile = '';
  city!: CityRecorder;
  brokerPort = 0;
  /** Times the city broker was stopped by `down()`. */
  brokerStops = 0;
  private mosquitto?: Mosquitto;
  private sims: RunningGasSimulatorTcp[] = [];
  private gateways: GatewayProcess[] = [];
  load!: GasLoad;
  readonly rnd: () => number;

  constructor(readonly o: RigOptions) {
    this.rnd = prng(o.seed);
  }

  private log(line: string): void {
    this.o.log?.(line);
  }

  async start(): Promise<void> {
    const units = Array.from({ length: this.o.unitsPerBus }, (_, i) => i + 1);
    if (this.o.unitsPerBus > 247) throw new Error('at most 247 Modbus units per bus');
    for (let b = 0; b < this.o.buses; b++) {
      this.sims.push(await startGasSimulatorTcp({ units: units.map((u) => ({ unitId: u, lel: 2 })) }));
    }
    this.load = new GasLoad(this.sims, this.o.unitsPerBus, this.rnd);
    this.brokerPort = await freePort();
    await this.up();
    this.city = new CityRecorder(`mqtt://127.0.0.1:${this.brokerPort}`, ROOT);
    await this.city.start();
    const backoff = this.o.backoff ?? { initialMs: 200, maxMs: 2000 };
    this.configFile = writeSiteConfig(this.dir, {
      site: { id: SITE },
      gateway: { id: GATEWAY },
      log: { level: 'warn' },
      // demo: anonymous read-only local bus, so the rig can watch what the gateway publishes
      demo: true,
      broker: { listeners: [{ type: 'tcp', host: '127.0.0.1', port: 0 }], accounts: [] },
      journal: { path: this.dbPath, synchronous: 'FULL' },
      http: { host: '127.0.0.1', port: 0 },
      drivers: this.sims.map((s, b) => ({
        family: 'gas-detector',
        id: `gas-bus-${b + 1}`,
        transport: { type: 'tcp', host: '127.0.0.1', port: s.port },
        pollIntervalMs: this.o.pollIntervalMs,
        // readings only when a level moves: the rig's load decides the event rate
        reportIntervalMs: 3_600_000,
        lelDeadband: 0.5,
        devices: units.map((u) => ({
          id: `gas-${b + 1}-${u}`,
          unitId: u,
          building: `b${(u % 20) + 1}`,
          zone: `kitchen-${u}`,
        })),
      })),
      uplink: { url: `mqtt://127.0.0.1:${this.brokerPort}`, backoff },
    });
  }

  get brokerUp(): boolean {
    return this.mosquitto !== undefined;
  }

  get brokerPid(): number | undefined {
    return this.mosquitto?.pid;
  }

  /** Starts the city broker (same port, same persistence directory). */
  async up(): Promise<void> {
    if (!this.mosquitto) this.mosquitto = await startMosquitto({ dir: this.dir, port: this.brokerPort });
  }

  /** Stops the city broker by its pid: SIGTERM saves its sessions and queued messages. */
  async down(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const m = this.mosquitto;
    this.mosquitto = undefined;
    if (m) {
      this.brokerStops += 1;
      await m.stop(signal);
    }
  }

  /** Spawns `gateway start` (not waiting for it). */
  spawn(): GatewayProcess {
    const gw = spawnGateway(['start', '--config', this.configFile]);
    this.gateways.push(gw);
    return gw;
  }

  /** Spawns `gateway start` and waits for its ready line. */
  async startGateway(timeoutMs = 60_000): Promise<LiveGateway> {
    const proc = this.spawn();
    const { opsUrl, brokerUrl } = await gatewayReadyWithin(proc, timeoutMs);
    // `gateway start` prints its ready line just before it installs its SIGTERM handler: a SIGTERM
    // sent at once can land in between and kill it by the signal. An answer from its ops server
    // comes from a later turn of its event loop, so after the handler is in place.
    await fetch(`${opsUrl}/healthz`).then((r) => r.arrayBuffer());
    return { proc, pid: proc.child.pid!, opsUrl, brokerUrl };
  }

  /** SIGKILL by pid; resolves when the process is gone. */
  async kill(gw: GatewayProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (gw.child.exitCode === null && gw.child.signalCode === null && gw.child.pid) process.kill(gw.child.pid, signal);
    return gw.exited;
  }

  /** Outbox rows pending and the last committed seq, read from the database (read-only, WAL). */
  dbState(): { outbox: number; lastSeq: number } {
    if (!existsSync(this.dbPath)) return { outbox: 0, lastSeq: 0 };
    const db = new Database(this.dbPath, { readonly: true, fileMustExist: true });
    try {
      const outbox = (db.prepare('SELECT COUNT(*) AS n FROM outbox').get() as { n: number }).n;
      const lastSeq = (db.prepare('SELECT MAX(seq) AS m FROM events').get() as { m: number | null }).m ?? 0;
      return { outbox, lastSeq };
    } finally {
      db.close();
    }
  }

  /**
   * Waits (bounded) until the outbox is empty and the city recorder has every seq up to the
   * journal's last one. Returns false when `timeoutMs` passed first.
   */
  async waitDrained(timeoutMs: number): Promise<boolean> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      try {
        const s = this.dbState();
        if (s.outbox === 0 && this.city.hasAll(s.lastSeq)) return true;
      } catch {
        // the database may be busy for a moment: try again
      }
      await sleep(250);
    }
    return false;
  }

  async close(): Promise<void> {
    this.load?.stop();
    for (const gw of this.gateways) await this.kill(gw).catch(() => {});
    await this.city?.close().catch(() => {});
    await this.down('SIGKILL').catch(() => {});
    for (const s of this.sims) await s.close().catch(() => {});
    if (!this.o.keep) rmSync(this.dir, { recursive: true, force: true });
  }
}

function gatewayReadyWithin(gw: GatewayProcess, timeoutMs: number) {
  return Promise.race([
    gatewayReady(gw),
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`gateway not ready within ${timeoutMs} ms`)), timeoutMs).unref(),
    ),
  ]);
}

/** Watches the gateway's local bus (anonymous read in demo mode) and collects the event ids it publishes. */
export async function watchLocalBus(brokerUrl: string, into: Set<string>): Promise<MqttClient> {
  const sub = await connectAsync(brokerUrl, { protocolVersion: 4, reconnectPeriod: 0 });
  sub.on('error', () => {});
  sub.on('message', (_t, payload) => {
    try {
      const e = JSON.parse(payload.toString()) as { id?: unknown };
      if (typeof e.id === 'string') into.add(e.id);
    } catch {
      // not an event
    }
  });
  await sub.subscribeAsync(`${ROOT}/events/#`, { qos: 1 });
  return sub;
}

/** Reads one Prometheus sample (summing label sets) from the gateway's /metrics. */
export async function metric(opsUrl: string, name: string): Promise<number | undefined> {
  const text = await (await fetch(`${opsUrl}/metrics`)).text();
  let sum: number | undefined;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== ' ' && rest[0] !== '{') continue;
    const v = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(v)) sum = (sum ?? 0) + v;
  }
  return sum;
}
