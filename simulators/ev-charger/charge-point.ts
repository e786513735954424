/**
 * A simulated OCPP 1.6J charge point on ocpp-rpc's client: connectors, transactions, meter
 * values, reconnect with backoff, the central system's remote commands, and a local
 * over-current trip (StatusNotification Faulted / OverCurrentFailure, then StopTransaction).
 */
import { RPCClient } from 'ocpp-rpc';

export interface ChargePointOptions {
  /** The central system's URL without the id, e.g. `ws://127.0.0.1:9000/ocpp` or `wss://…` (OCPP 1.6 security profile 2). */
  endpoint: string;
  identity: string;
  password: string;
  connectors?: number;
  /** CA certificates (PEM) trusted for a `wss://` central system (default: node's root CAs). */
  ca?: string | Buffer;
  /** Strict mode: the client validates what it sends and receives (default true). */
  strict?: boolean;
}

interface Connector {
  status: string;
  operative: boolean;
  meterWh: number;
  tx?: { id: number; idTag: string };
}

type Params = Record<string, unknown>;

export class ChargePoint {
  readonly client: RPCClient;
  readonly connectors = new Map<number, Connector>();
  readonly config = new Map<string, string>();
  resets = 0;
  /** Charging power per connector, for `run`. */
  readonly powerW = new Map<number, number>();
  private ticker: NodeJS.Timeout | undefined;
  private closed = false;
  private heartbeatMs = 60_000;

  constructor(readonly o: ChargePointOptions) {
    for (let i = 1; i <= (o.connectors ?? 1); i++) this.connectors.set(i, { status: 'Available', operative: true, meterWh: 1000 * i });
    this.client = new RPCClient({
      endpoint: o.endpoint,
      identity: o.identity,
      password: o.password,
      protocols: ['ocpp1.6'],
      strictMode: o.strict ?? true,
      reconnect: true,
      maxReconnects: Infinity,
      backoff: { initialDelay: 200, maxDelay: 10_000, factor: 2, randomisationFactor: 0.25 },
      callTimeoutMs: 10_000,
      ...(o.ca ? { wsOpts: { ca: o.ca } } : {}),
    } as ConstructorParameters<typeof RPCClient>[0]);
    this.client.on('error', () => {});
    this.handle('RemoteStartTransaction', (p) => {
      const id = (p.connectorId as number | undefined) ?? this.freeConnector();
      const c = id === undefined ? undefined : this.connectors.get(id);
      if (!c || c.tx || !c.operative || c.status === 'Faulted') return { status: 'Rejected' };
      setImmediate(() => void this.startTransaction(id!, p.idTag as string).catch(() => {}));
      return { status: 'Accepted' };
    });
    this.handle('RemoteStopTransaction', (p) => {
      const id = [...this.connectors].find(([, c]) => c.tx?.id === p.transactionId)?.[0];
      if (id === undefined) return { status: 'Rejected' };
      setImmediate(() => void this.stopTransaction(id, 'Remote').catch(() => {}));
      return { status: 'Accepted' };
    });
    this.handle('ChangeAvailability', (p) => {
      const ids = p.connectorId === 0 ? [...this.connectors.keys()] : [p.connectorId as number];
      if (ids.some((i) => !this.connectors.has(i))) return { status: 'Rejected' };
      const operative = p.type === 'Operative';
      let scheduled = false;
      for (const i of ids) {
        const c = this.connectors.get(i)!;
        c.operative = operative;
        if (c.tx) scheduled = true;
        else void this.status(i, operative ? 'Available' : 'Unavailable').catch(() => {});
      }
      return { status: scheduled ? 'Scheduled' : 'Accepted' };
    });
    this.handle('ChangeConfiguration', (p) => {
      this.config.set(p.key as string, p.value as string);
      return { status: 'Accepted' };
    });
    this.handle('Reset', () => {
      this.resets++;
      return { status: 'Accepted' };
    });
  }

  private handle(method: string, fn: (p: Params) => Params): void {
    this.client.handle(method, async ({ params }) => fn(params as Params));
  }

  private freeConnector(): number | undefined {
    return [...this.connectors].find(([, c]) => !c.tx && c.operative && c.status !== 'Faulted')?.[0];
  }

  async connect(): Promise<void> {
    await this.client.connect();
  }

  /**
   * Connects, retrying with backoff (doubling from 200 ms to 10 s, with jitter) until the central
   * system answers or the charge point is closed, then boots and reports its connectors. ocpp-rpc
   * reconnects by itself only after a first connection.
   */
  async start(): Promise<void> {
    for (let delay = 200; !this.closed; delay = Math.min(delay * 2, 10_000)) {
      try {
        await this.client.connect();
        await this.boot();
        for (const id of this.connectors.keys()) await this.status(id, 'Available');
        return;
      } catch {
        await new Promise((r) => setTimeout(r, delay * (0.75 + Math.random() / 2)).unref());
      }
    }
  }

  async boot(): Promise<Params> {
    const res = await this.call('BootNotification', { chargePointVendor: 'CG-Sim', chargePointModel: 'AC7K', firmwareVersion: '1.0.0' });
    if (typeof res.interval === 'number' && res.interval > 0) this.heartbeatMs = res.interval * 1000;
    return res;
  }

  heartbeat(): Promise<Params> {
    return this.call('Heartbeat', {});
  }

  async status(connectorId: number, status: string, errorCode = 'NoError', info?: string): Promise<void> {
    const c = this.connectors.get(connectorId);
    if (c) c.status = status;
    await this.call('StatusNotification', {
      connectorId,
      status,
      errorCode,
      ...(info ? { info } : {}),
      timestamp: new Date().toISOString(),
    });
  }

  authorize(idTag: string): Promise<Params> {
    return this.call('Authorize', { idTag });
  }

  async startTransaction(connectorId: number, idTag: string): Promise<number> {
    const c = this.connectors.get(connectorId)!;
    await this.status(connectorId, 'Preparing');
    const res = await this.call('StartTransaction', { connectorId, idTag, meterStart: c.meterWh, timestamp: new Date().toISOString() });
    c.tx = { id: res.transactionId as number, idTag };
    await this.status(connectorId, 'Charging');
    return c.tx.id;
  }

  /** The car draws `powerW` for `seconds`: the meter advances and one MeterValues is sent. */
  async charge(connectorId: number, powerW: number, seconds: number): Promise<void> {
    const c = this.connectors.get(connectorId)!;
    c.meterWh += Math.round((powerW * seconds) / 3600);
    const currentA = Math.round((powerW / 230) * 10) / 10;
    await this.call('MeterValues', {
      connectorId,
      ...(c.tx ? { transactionId: c.tx.id } : {}),
      meterValue: [
        {
          timestamp: new Date().toISOString(),
          sampledValue: [
            { value: String(c.meterWh), measurand: 'Energy.Active.Import.Register', unit: 'Wh' },
            { value: String(powerW), measurand: 'Power.Active.Import', unit: 'W' },
            { value: String(currentA), measurand: 'Current.Import', unit: 'A' },
          ],
        },
      ],
    });
  }

  async stopTransaction(connectorId: number, reason = 'Local'): Promise<void> {
    const c = this.connectors.get(connectorId)!;
    const tx = c.tx;
    if (!tx) return;
    await this.status(connectorId, 'Finishing');
    await this.call('StopTransaction', { transactionId: tx.id, idTag: tx.idTag, meterStop: c.meterWh, timestamp: new Date().toISOString(), reason });
    c.tx = undefined;
    await this.status(connectorId, c.operative ? 'Available' : 'Unavailable');
  }

  /** The connector's over-current protection trips: Faulted, then the session ends. */
  async overcurrentTrip(connectorId: number): Promise<void> {
    const c = this.connectors.get(connectorId)!;
    const tx = c.tx;
    await this.status(connectorId, 'Faulted', 'OverCurrentFailure', 'over-current protection tripped');
    if (tx) {
      await this.call('StopTransaction', { transactionId: tx.id, idTag: tx.idTag, meterStop: c.meterWh, timestamp: new Date().toISOString(), reason: 'Other' });
      c.tx = undefined;
    }
  }

  /** Heartbeats and, while a connector charges, its meter values (at `powerW.get(connector)`, default 7 kW) every `everyMs`. */
  run(everyMs: number): void {
    let lastBeat = Date.now();
    this.ticker = setInterval(() => {
      // Heartbeats at the interval the central system gave in BootNotification.conf.
      if (Date.now() - lastBeat >= this.heartbeatMs - everyMs / 2) {
        lastBeat = Date.now();
        void this.heartbeat().catch(() => {});
      }
      for (const [id, c] of this.connectors)
        if (c.tx) void this.charge(id, this.powerW.get(id) ?? 7000, everyMs / 1000).catch(() => {});
    }, everyMs);
    this.ticker.unref();
  }

  call(method: string, params: Params): Promise<Params> {
    return this.client.call(method, params) as Promise<Params>;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.ticker);
    await this.client.close({ force: true });
  }
}
