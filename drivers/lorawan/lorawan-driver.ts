/**
 * The driver shared by the LoRaWAN families: receives the network server's events (ChirpStack v4
 * MQTT integration, from its broker or the embedded one), finds the device by DevEUI, drops
 * duplicate uplinks, runs the model's codec and emits the events of the model's table. Every
 * uplink, join or status restarts the device's heartbeat timer.
 */
import type {
  DeviceBase,
  DriverContext,
  DriverInstance,
  EventKind,
  EventSpec,
  Severity,
} from '../../gateway/devices/driver-api.js';
import { eventFilter, type LorawanMessage, parseEvent, type Uplink } from './chirpstack.js';
import { Codec } from './codec-runner.js';
import { FrameCounters } from './frame-counter.js';
import { Heartbeats } from './heartbeats.js';
import { type LorawanModel, mapEvents } from './model.js';

export interface LorawanDevice extends DeviceBase {
  devEui: string;
  model: string;
  heartbeatIntervalS?: number;
}

export interface LorawanConfig {
  id: string;
  mqtt?: unknown;
  account?: string;
  applicationId: string;
  missedHeartbeats: number;
  codecTimeoutMs: number;
  models: Record<string, LorawanModel>;
  devices: LorawanDevice[];
}

export interface LorawanFamily {
  /** The family's shipped models (a site's `models:` adds to them and may replace one). */
  models: Readonly<Record<string, LorawanModel>>;
  events: Readonly<Record<string, EventSpec>>;
  /** Severity of each event type. */
  severity: Readonly<Record<string, Severity>>;
  /** The heartbeat event, emitted with the battery level of a `status` event. */
  heartbeatEvent?: string;
}

interface Resolved {
  device: LorawanDevice;
  model: LorawanModel;
  codec: Codec;
  intervalS: number;
}

export class LorawanDriver implements DriverInstance<LorawanDevice> {
  readonly commands = {};
  private readonly byEui = new Map<string, Resolved>();
  private readonly counters: FrameCounters;
  private readonly heartbeats: Heartbeats;

  constructor(
    private readonly config: LorawanConfig,
    private readonly ctx: DriverContext,
    private readonly family: LorawanFamily,
  ) {
    const models = { ...family.models, ...config.models };
    const codecs = new Map<string, Codec>();
    for (const device of config.devices) {
      const model = models[device.model];
      if (!model) throw new Error(`device ${device.id}: unknown model "${device.model}"`);
      let codec = codecs.get(device.model);
      if (!codec) {
        codec = Codec.fromFile(model.codec, { timeoutMs: config.codecTimeoutMs });
        codecs.set(device.model, codec);
      }
      const intervalS = device.heartbeatIntervalS ?? model.heartbeatIntervalS;
      this.byEui.set(device.devEui, { device, model, codec, intervalS });
    }
    this.counters = new FrameCounters(ctx.store);
    this.heartbeats = new Heartbeats(ctx.clock, (id, reason) => ctx.availability(id, false, reason));
    const opts = config.mqtt !== undefined ? { broker: 'external' as const } : undefined;
    for (const event of ['up', 'join', 'status'] as const) {
      ctx.subscribe(eventFilter(config.applicationId, event), (msg) => this.receive(msg.topic, msg.payload, msg.username), opts);
    }
  }

  /** A device never heard from since the start goes offline after its heartbeats are missed. */
  start(): Promise<void> {
    for (const r of this.byEui.values()) this.heartbeats.heard(r.device.id, r.intervalS, this.config.missedHeartbeats);
    return Promise.resolve();
  }

  stop(): Promise<void> {
    this.heartbeats.stop();
    return Promise.resolve();
  }

  private receive(topic: string, payload: Buffer, username: string | undefined): void {
    const { ctx, config } = this;
    if (config.mqtt === undefined && config.account !== undefined && username !== config.account) {
      return ctx.refused('auth', { topic, username, expected: config.account });
    }
    const parsed = parseEvent(topic, payload);
    if (!parsed.ok) return ctx.refused('shape', { topic, why: parsed.why });
    const msg = parsed.msg;
    const r = this.byEui.get(msg.devEui);
    if (!r) return ctx.refused('unknown-sender', { topic, devEui: msg.devEui });
    if (msg.type === 'up') return this.uplink(r, msg);
    this.heard(r);
    if (msg.type === 'join') {
      this.counters.reset(r.device.id);
      ctx.log.info({ device: r.device.id, devEui: msg.devEui }, 'device joined: frame counter starts again');
    } else this.status(r, msg);
  }

  private heard(r: Resolved): void {
    this.ctx.seen(r.device.id);
    this.heartbeats.heard(r.device.id, r.intervalS, this.config.missedHeartbeats);
  }

  private status(r: Resolved, msg: Extract<LorawanMessage, { type: 'status' }>): void {
    const type = this.family.heartbeatEvent;
    if (type === undefined || msg.battery === undefined) return;
    this.emit(r.device.id, type, { battery: msg.battery }, msg.time);
  }

  private uplink(r: Resolved, up: Uplink): void {
    const { ctx } = this;
    const id = r.device.id;
    const verdict = this.counters.check(id, up.fCnt);
    if (verdict === 'duplicate') return ctx.refused('duplicate', { device: id, fCnt: up.fCnt });
    if (verdict === 'reset') ctx.log.info({ device: id, fCnt: up.fCnt }, 'frame counter reset: the device restarted');
    if (verdict === 'late') ctx.log.info({ device: id, fCnt: up.fCnt }, 'uplink delivered out of order');
    this.heard(r);
    if (up.fPort === 0 || up.bytes.length === 0) return; // MAC commands only, or an empty frame: heard
    const result = r.codec.decode({ bytes: [...up.bytes], fPort: up.fPort, recvTime: up.time ?? new Date(ctx.clock.now()) });
    const raw = { fPort: up.fPort, fCnt: up.fCnt, hex: up.bytes.toString('hex') };
    if (!result.ok) {
      if (result.failure === 'timeout') return ctx.refused('codec-timeout', { device: id, model: r.device.model, ...raw });
      return ctx.invalid(id, `codec of model ${r.device.model}: ${result.message}`, raw);
    }
    const { data, warnings, errors } = result.output;
    if (errors.length > 0) return ctx.invalid(id, `codec of model ${r.device.model}: ${errors.join('; ')}`, raw);
    if (warnings.length > 0) ctx.log.info({ device: id, warnings }, 'codec warnings');
    const key = `held/${id}`;
    const held = ctx.store.get<number[]>(key) ?? [];
    const mapped = mapEvents(r.model.events, data, up, held);
    if (mapped.held.join() !== held.join()) ctx.store.set(key, mapped.held);
    if (mapped.events.length === 0) ctx.log.debug({ device: id, data }, 'uplink maps to no event');
    for (const e of mapped.events) this.emit(id, e.event, e.data, up.time);
  }

  private emit(deviceId: string, type: string, data: Record<string, unknown>, time: Date | undefined): void {
    const spec = this.family.events[type];
    const kind: EventKind = spec?.kind ?? 'event';
    this.ctx.emit({
      deviceId,
      type,
      kind,
      severity: this.family.severity[type] ?? 'info',
      deviceTime: time ?? null,
      data,
    });
  }
}
