/**
 * The central system (OCPP 1.6J): BootNotification, Heartbeat, StatusNotification, Authorize,
 * StartTransaction, StopTransaction and MeterValues from the charge points; RemoteStart/Stop,
 * ChangeAvailability, ChangeConfiguration and Reset to them. Open transactions and whether a
 * charge point has booted are kept in `ctx.store`, so a StopTransaction after a gateway restart
 * closes its transaction with the right energy.
 */
import type { RPCClient } from 'ocpp-rpc';
import type { WebSocket } from 'ws';
import type { CommandOutcome, CommandResult, DriverContext } from '../../gateway/devices/driver-api.js';
import { commandHandlers, type EvCommands } from './commands.js';
import { BasicAuth, chargePointOf, loadOcpp, type Ocpp, PATH, SUBPROTOCOL } from './connection.js';
import { EV_EVENTS, EV_SEVERITY, type EvEventType } from './events.js';
import { meterReading, type MeterValuesReq } from './meter.js';
import type { EvChargerConfig, EvChargerDevice } from './schema.js';

interface OpenTx {
  connectorId: number;
  idTag: string;
  meterStart: number;
  timestamp: string;
}
type Params = Record<string, unknown>;
type Waiter = { deviceId: string; match: (method: string, p: Params, txId?: number) => boolean; done: (r: CommandResult) => void };

const txKey = (id: string, txId: number) => `tx/${id}/${txId}`;
/** Transactions recently closed per charge point: a StopTransaction resent after a lost answer is acknowledged, not reported twice. */
const closedKey = (id: string) => `closed/${id}`;
const CLOSED_KEPT = 20;

export class EvCharger {
  private readonly clients = new Map<string, RPCClient>();
  private readonly auth: BasicAuth;
  private readonly tags: Set<string> | undefined;
  private readonly waiters = new Set<Waiter>();
  private ocpp: Ocpp | undefined;
  private stopping = false;

  constructor(
    private readonly config: EvChargerConfig,
    private readonly ctx: DriverContext,
  ) {
    this.auth = new BasicAuth(config.devices);
    this.tags = config.idTags ? new Set(config.idTags) : undefined;
    ctx.http.upgrade(
      PATH,
      (ws, _req, url) => this.attach(ws, chargePointOf(url)!),
      async (req, url) => {
        this.ocpp ??= await loadOcpp();
        return this.auth.check(req, chargePointOf(url));
      },
    );
  }

  async stop(): Promise<void> {
    this.stopping = true;
    for (const w of this.waiters) w.done({ ok: false, error: 'the gateway is stopping' });
    this.waiters.clear();
    await Promise.all([...this.clients.values()].map((c) => c.close({ force: true }).catch(() => {})));
    this.clients.clear();
  }

  private attach(ws: WebSocket, id: string): void {
    if (ws.protocol !== SUBPROTOCOL) {
      this.ctx.refused('subprotocol', { device: id, protocol: ws.protocol });
      return ws.close(1002, `subprotocol ${SUBPROTOCOL} required`);
    }
    const ocpp = this.ocpp!; // loaded by the upgrade's check, which runs first
    const client = ocpp.client(ws, id, 30_000);
    // A charge point that reconnects replaces its old connection.
    void this.clients.get(id)?.close({ force: true });
    this.clients.set(id, client);
    client.on('close', () => {
      if (this.clients.get(id) !== client) return;
      this.clients.delete(id);
      // The gateway closing its own connections says nothing about the piles.
      if (!this.stopping) this.ctx.availability(id, false, 'disconnected');
    });
    client.on('strictValidationFailure', ({ error }: { error: Error }) =>
      this.ctx.refused('shape', { device: id, error: error.message.slice(0, 200) }),
    );
    client.on('badMessage', () => this.ctx.refused('shape', { device: id, what: 'not OCPP-J' }));
    this.ctx.seen(id);
    const on = (method: string, fn: (p: Params) => Params | Promise<Params>) =>
      client.handle(method, async ({ params }) => {
        if (method !== 'BootNotification' && !this.ctx.store.get(`boot/${id}`)) {
          this.ctx.refused('before-boot', { device: id, method });
          throw ocpp.rpcError('SecurityError', `${method} before an accepted BootNotification`);
        }
        this.ctx.seen(id);
        return fn(params as Params);
      });
    on('BootNotification', (p) => {
      this.ctx.store.set(`boot/${id}`, { ...p, at: new Date(this.ctx.clock.now()).toISOString() });
      return { status: 'Accepted', currentTime: this.now(), interval: this.config.heartbeatIntervalS };
    });
    on('Heartbeat', () => ({ currentTime: this.now() }));
    on('StatusNotification', (p) => this.status(id, p));
    on('Authorize', (p) => ({ idTagInfo: this.idTagInfo(p.idTag as string) }));
    on('StartTransaction', (p) => this.started(id, p));
    on('StopTransaction', (p) => this.stopped(id, p));
    on('MeterValues', (p) => this.meter(id, p as unknown as MeterValuesReq));
  }

  private now = () => new Date(this.ctx.clock.now()).toISOString();

  private emit(deviceId: string, type: EvEventType, data: Record<string, unknown>, at?: unknown): void {
    const t = typeof at === 'string' ? new Date(at) : null;
    const deviceTime = t && Number.isFinite(t.getTime()) ? t : null;
    this.ctx.emit({ deviceId, type, kind: EV_EVENTS[type].kind, severity: EV_SEVERITY[type], deviceTime, data });
  }

  private idTagInfo(idTag: string): { status: 'Accepted' | 'Invalid' } {
    return { status: !this.tags || this.tags.has(idTag) ? 'Accepted' : 'Invalid' };
  }

  private status(id: string, p: Params): Params {
    const { connectorId, status, errorCode, info, vendorErrorCode, timestamp } = p;
    const extra = { ...(info !== undefined ? { info } : {}), ...(vendorErrorCode !== undefined ? { vendorErrorCode } : {}) };
    this.emit(id, 'ev.status', { connectorId, status, errorCode, ...extra }, timestamp);
    if (status === 'Faulted' || errorCode !== 'NoError') this.emit(id, 'ev.fault', { connectorId, errorCode, ...extra }, timestamp);
    return {};
  }

  private started(id: string, p: Params): Params {
    const connectorId = p.connectorId as number;
    const idTag = p.idTag as string;
    // The charge point resends a StartTransaction whose answer it lost (OCPP 1.6 §4.8): the same
    // connector, idTag, meterStart and timestamp as an open transaction is that transaction.
    const resent = this.openTransactions(id).find(
      ({ tx }) => tx.connectorId === connectorId && tx.idTag === idTag && tx.meterStart === p.meterStart && tx.timestamp === p.timestamp,
    );
    if (resent) return { transactionId: resent.transactionId, idTagInfo: this.idTagInfo(idTag) };
    const transactionId = (this.ctx.store.get<number>('last-tx') ?? 0) + 1;
    this.ctx.store.set('last-tx', transactionId);
    const tx: OpenTx = { connectorId, idTag, meterStart: p.meterStart as number, timestamp: p.timestamp as string };
    this.ctx.store.set(txKey(id, transactionId), tx);
    this.emit(id, 'ev.transaction.started', { transactionId, connectorId, idTag, meterStartWh: tx.meterStart }, p.timestamp);
    this.settle(id, 'StartTransaction', p, transactionId);
    return { transactionId, idTagInfo: this.idTagInfo(idTag) };
  }

  private stopped(id: string, p: Params): Params {
    const ocpp = this.ocpp!;
    const transactionId = p.transactionId as number;
    const tx = this.ctx.store.get<OpenTx>(txKey(id, transactionId));
    const closed = this.ctx.store.get<number[]>(closedKey(id)) ?? [];
    if (!tx && closed.includes(transactionId)) return {};
    if (!tx) {
      this.ctx.refused('unknown-transaction', { device: id, transactionId });
      throw ocpp.rpcError('PropertyConstraintViolation', `no open transaction ${transactionId} on ${id}`, { transactionId });
    }
    const energyWh = (p.meterStop as number) - tx.meterStart;
    const idTag = (p.idTag as string | undefined) ?? tx.idTag;
    const reason = (p.reason as string | undefined) ?? 'Local';
    this.emit(id, 'ev.transaction.stopped', { transactionId, connectorId: tx.connectorId, idTag, energyWh, reason }, p.timestamp);
    this.ctx.store.set(closedKey(id), [...closed, transactionId].slice(-CLOSED_KEPT));
    this.ctx.store.delete(txKey(id, transactionId));
    this.settle(id, 'StopTransaction', p, transactionId);
    return p.idTag ? { idTagInfo: this.idTagInfo(p.idTag as string) } : {};
  }

  private meter(id: string, p: MeterValuesReq): Params {
    const r = meterReading(p);
    if (typeof r === 'string') this.ctx.invalid(id, r, p);
    else if (Object.keys(r.values).length > 0) {
      const tx = p.transactionId !== undefined ? { transactionId: p.transactionId } : {};
      this.emit(id, 'ev.meter', { connectorId: p.connectorId, ...tx, ...r.values }, r.timestamp);
    }
    return {};
  }

  /** Open transactions of one charge point (from the store: they survive a restart). */
  openTransactions(id: string): { transactionId: number; tx: OpenTx }[] {
    return this.ctx.store
      .entries<OpenTx>(`tx/${id}/`)
      .map(([k, tx]) => ({ transactionId: Number(k.slice(k.lastIndexOf('/') + 1)), tx }));
  }

  private settle(deviceId: string, method: string, p: Params, txId: number): void {
    for (const w of this.waiters)
      if (w.deviceId === deviceId && w.match(method, p, txId)) {
        this.waiters.delete(w);
        w.done({ ok: true, data: { transactionId: txId } });
      }
  }

  /** Calls the charge point; its answer's `status` must be one of `ok`. */
  async call(device: EvChargerDevice, method: string, params: Params, ok: readonly string[]): Promise<CommandResult> {
    const client = this.clients.get(device.id);
    if (!client) return { ok: false, error: `charge point ${device.id} is not connected` };
    try {
      const res = (await client.call(method, params)) as { status?: string };
      return ok.includes(res.status ?? '')
        ? { ok: true, data: { status: res.status } }
        : { ok: false, error: `charge point ${device.id} answered ${method} with ${res.status}` };
    } catch (err) {
      return { ok: false, error: `${method} to ${device.id} failed: ${(err as Error).message}` };
    }
  }

  /** Accepted now; final when the charge point reports the matching Start/StopTransaction. */
  async untilReported(device: EvChargerDevice, send: () => Promise<CommandResult>, match: Waiter['match']): Promise<CommandOutcome> {
    let done!: (r: CommandResult) => void;
    const final = new Promise<CommandResult>((resolve) => (done = resolve));
    const w: Waiter = { deviceId: device.id, match, done };
    this.waiters.add(w);
    const first = await send();
    if (!first.ok) {
      this.waiters.delete(w);
      return first;
    }
    const timer = this.ctx.clock.after(this.config.remoteStartTimeoutMs, () => {
      if (this.waiters.delete(w))
        done({ ok: false, error: `${device.id} accepted but reported no transaction within ${this.config.remoteStartTimeoutMs} ms` });
    });
    void final.then(() => timer.cancel());
    return { accepted: true, data: first.data ?? {}, done: final };
  }

  commands(): EvCommands {
    return commandHandlers(this);
  }
}
