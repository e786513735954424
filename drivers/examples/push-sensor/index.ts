/**
 * Reference push family (not in the production registry): devices send numbered readings
 * `{"seq": n, "value": x}` three ways, all through the host:
 *
 * - HTTP: `POST /devices/<id>/readings` with `authorization: Bearer <token>`; `POST
 *   /devices/<id>/heartbeat` says the device is alive;
 * - WebSocket: `GET /devices/<id>/stream` upgraded, same token, one reading (or
 *   `{"heartbeat": true}`) per message, each answered `{"ack": seq}`;
 * - MQTT on the embedded broker: the device account `<id>` publishes to `dev/<id>/reading`.
 *
 * The last sequence number per device is kept in `ctx.store`, so a retry or a restart of the
 * gateway does not report a reading twice. A device silent for `livenessTimeoutMs` goes offline.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import {
  DeviceBase,
  DriverBase,
  type DriverContext,
  type FamilyDefinition,
  ListenConfig,
} from '../../../gateway/devices/driver-api.js';

export const PushSensorDevice = z.strictObject({
  ...DeviceBase.shape,
  /** Shared secret the device presents as a bearer token (a real family would keep a hash). */
  token: z.string().min(16),
});
export type PushSensorDevice = z.infer<typeof PushSensorDevice>;

export const PushSensorConfig = z.strictObject({
  ...DriverBase.shape,
  family: z.literal('push-sensor'),
  ...ListenConfig,
  devices: z.array(PushSensorDevice).min(1),
});
export type PushSensorConfig = z.infer<typeof PushSensorConfig>;

/** A device's request or message is small; anything larger is refused before it is read. */
export const MAX_BODY_BYTES = 4096;

const Reading = z.strictObject({
  seq: z.number().int().positive(),
  value: z.number().finite(),
  time: z.iso.datetime({ offset: true }).optional(),
});
const Heartbeat = z.strictObject({ heartbeat: z.literal(true) });

type Outcome = { status: 200; body: Record<string, unknown> } | { status: 400; body: { error: string } };

const digest = (s: string) => createHash('sha256').update(s).digest();

export const pushSensor: FamilyDefinition<PushSensorConfig> = {
  family: 'push-sensor',
  configSchema: PushSensorConfig,
  commands: {},
  events: {
    'sensor.reading': {
      kind: 'telemetry',
      data: z.object({ seq: z.number().int(), value: z.number() }),
      description: 'One numbered reading a sensor pushed',
    },
  },
  lifeSafety: false,
  // Devices heartbeat every 20 s: three missed beats and the device is offline.
  livenessTimeoutMs: 60_000,
  create: (config, ctx) => new PushSensor(config, ctx),
};

class PushSensor {
  readonly commands = {};
  private readonly tokens = new Map<string, Buffer>();

  constructor(
    config: PushSensorConfig,
    private readonly ctx: DriverContext,
  ) {
    for (const d of config.devices) this.tokens.set(d.id, digest(d.token));
    const { http } = ctx;
    http.route('POST', /^\/devices\/[^/]+\/(readings|heartbeat)$/, (req, res, url) => this.onPost(req, res, url));
    http.upgrade(
      /^\/devices\/[^/]+\/stream$/,
      (ws, _req, url) => {
        const id = deviceIdOf(url)!;
        ws.on('message', (data, isBinary) => {
          const buf = Buffer.isBuffer(data) ? data : Buffer.from(data as ArrayBuffer);
          if (isBinary || buf.length > MAX_BODY_BYTES) {
            ctx.refused(isBinary ? 'shape' : 'too-large', { device: id, what: 'WebSocket message' });
            return;
          }
          const out = this.receive(id, buf.toString('utf8'));
          ws.send(JSON.stringify(out.body));
        });
      },
      (req, url) => this.authenticate(req, deviceIdOf(url)),
    );
    // The broker's ACL lets device account <id> publish only under dev/<id>/, so the topic names the sender.
    ctx.subscribe('dev/+/reading', (msg) => {
      const id = msg.topic.split('/')[1]!;
      if (!this.tokens.has(id)) return ctx.refused('unknown-sender', { topic: msg.topic, username: msg.username });
      this.receive(id, msg.payload.toString('utf8'));
    });
  }

  /** Undefined when the bearer token is the device's; otherwise the refusal reason. */
  private authenticate(req: IncomingMessage, deviceId: string | undefined): string | undefined {
    const expected = deviceId === undefined ? undefined : this.tokens.get(deviceId);
    if (!expected) return 'unknown-sender';
    const m = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
    // Equal-length digests compared in constant time: the answer's timing reveals nothing of the token.
    return m && timingSafeEqual(digest(m[1]!), expected) ? undefined : 'auth';
  }

  private async onPost(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const id = deviceIdOf(url);
    const refusal = this.authenticate(req, id);
    if (refusal || !id) {
      this.ctx.refused(refusal ?? 'unknown-sender', { path: url.pathname });
      return send(res, 401, { error: 'unauthorized' });
    }
    const body = await this.ctx.http.body(req, MAX_BODY_BYTES);
    if (url.pathname.endsWith('/heartbeat')) {
      this.ctx.seen(id);
      return send(res, 200, { ok: true });
    }
    const out = this.receive(id, body.toString('utf8'));
    send(res, out.status, out.body);
  }

  /** One reading or heartbeat from an authenticated device, whatever way it came. */
  private receive(id: string, text: string): Outcome {
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      this.ctx.refused('shape', { device: id, what: 'not JSON' });
      return { status: 400, body: { error: 'not JSON' } };
    }
    if (Heartbeat.safeParse(raw).success) {
      this.ctx.seen(id);
      return { status: 200, body: { ok: true } };
    }
    const r = Reading.safeParse(raw);
    if (!r.success) {
      this.ctx.invalid(id, `not a reading: ${r.error.issues.map((i) => i.message).join('; ')}`, raw);
      return { status: 400, body: { error: 'expected {"seq": <int>, "value": <number>}' } };
    }
    const key = `seq/${id}`;
    const last = this.ctx.store.get<number>(key) ?? 0;
    if (r.data.seq <= last) {
      // Already reported (a retry, or a resend after the gateway restarted): heard, not new.
      this.ctx.seen(id);
      return { status: 200, body: { ack: r.data.seq, duplicate: true } };
    }
    this.ctx.emit({
      deviceId: id,
      type: 'sensor.reading',
      kind: 'telemetry',
      severity: 'info',
      deviceTime: r.data.time ? new Date(r.data.time) : null,
      data: { seq: r.data.seq, value: r.data.value },
    });
    this.ctx.store.set(key, r.data.seq);
    return { status: 200, body: { ack: r.data.seq } };
  }
}

function deviceIdOf(url: URL): string | undefined {
  return /^\/devices\/([^/]+)\//.exec(url.pathname)?.[1];
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
