/**
 * The onvif-camera driver: one `CameraLink` per camera (its own connection, timers and event
 * loop, so a failing camera never holds up another), the host's poll as the health check
 * (GetDeviceInformation: offline with the reason after `offlineAfterFailures`), events from the
 * PullPoint loop, and the commands (PTZ preset, snapshot, alarm video linkage, stream URI).
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { type CommandHandlers, type CommandResult, type DriverContext, type DriverInstance, errorMessage } from '../../gateway/devices/driver-api.js';
import { DigestClient } from '../http/digest.js';
import { CameraLink } from './camera.js';
import { counts, isNight } from './night.js';
import { presetFor } from './presets.js';
import type { CameraDevice, OnvifCameraConfig } from './schema.js';
import { type Notification, topicTable } from './topics.js';

export const CAMERA_COMMANDS = {
  'ptz.goto-preset': z.strictObject({ preset: z.string().min(1).describe('a preset name of the camera (its presets:)') }),
  'camera.snapshot': z.strictObject({}),
  'camera.link': z.strictObject({
    device: z.string().min(1).optional(),
    building: z.string().min(1).optional(),
    zone: z.string().min(1).optional(),
  }),
  'stream.uri': z.strictObject({}),
} as const;
export type CameraCommands = typeof CAMERA_COMMANDS;

interface Camera {
  device: CameraDevice;
  link?: CameraLink;
  account?: { username: string; password: string };
  /** Per event type, the state of each topic/rule reporting it, and the state last reported. */
  states: Map<string, { sources: Map<string, boolean>; reported?: boolean }>;
  /** Motion sources that count for the night window (its `zones`), and whether each is on. */
  night: Map<string, boolean>;
}

async function firstLine(file: string, where: string): Promise<string> {
  const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new Error(`${where} ${file}: ${err.code ?? err.message}; the gateway must be able to read it`);
  });
  const line = text.split(/\r?\n/, 1)[0]!;
  if (!line) throw new Error(`${where} ${file} is empty: its first line must hold the value`);
  return line;
}

export class OnvifCameraDriver implements DriverInstance<CameraDevice, CameraCommands> {
  readonly commands: CommandHandlers<CameraCommands, CameraDevice>;
  private readonly cameras = new Map<string, Camera>();

  constructor(
    private readonly config: OnvifCameraConfig,
    private readonly ctx: DriverContext,
  ) {
    for (const device of config.devices) this.cameras.set(device.id, { device, states: new Map(), night: new Map() });
    this.commands = {
      'ptz.goto-preset': (d, a) => this.result(d, 'goto-preset', async () => ({ preset: await this.goto(d, a.preset) })),
      'camera.snapshot': (d) => this.result(d, 'snapshot', async () => ({ pictureRef: await this.snapshot(d) })),
      'camera.link': (d, a) => this.link(d, a),
      'stream.uri': (d) => this.result(d, 'stream.uri', async () => ({ uri: await this.streamUri(d) })),
    };
  }

  async start(): Promise<void> {
    const table = topicTable(this.config.topics);
    for (const [id, c] of this.cameras) {
      const d = c.device;
      const username = d.username ?? (await firstLine(d.usernameFile!, `devices.${id}.usernameFile`));
      const password = await firstLine(d.passwordFile, `devices.${id}.passwordFile`);
      c.account = { username, password };
      c.link = new CameraLink({
        device: d,
        username,
        password,
        timeoutMs: this.config.requestTimeoutMs,
        table,
        clock: this.ctx.clock,
        backoff: this.config.backoff,
        onNotification: (n) => this.notified(c, n),
        onInvalid: (reason, raw) => this.ctx.invalid(id, reason, raw),
        onHeard: () => this.ctx.seen(id),
        onDebug: (msg, err) => this.ctx.log.debug({ device: id, err }, msg),
      });
    }
    for (const c of this.cameras.values()) c.link!.startEvents();
  }

  async stop(): Promise<void> {
    await Promise.all([...this.cameras.values()].map((c) => c.link?.stop()));
  }

  /** The host's health check of one camera; a failure says why (wrong password, no answer, malformed answer). */
  async poll(device: CameraDevice): Promise<void> {
    await this.linkOf(device).call((cam, cb) => cam.getDeviceInformation(cb));
    this.ctx.seen(device.id);
  }

  private linkOf(d: CameraDevice): CameraLink {
    const link = this.cameras.get(d.id)?.link;
    if (!link) throw new Error(`${d.id}: the driver is not started`);
    return link;
  }

  private async result(d: CameraDevice, what: string, fn: () => Promise<Record<string, unknown>>): Promise<CommandResult> {
    try {
      return { ok: true, data: await fn() };
    } catch (err) {
      return { ok: false, error: `${d.id} ${what}: ${errorMessage(err)}` };
    }
  }

  /** Goes to a preset by name; returns its name. */
  private async goto(d: CameraDevice, name: string): Promise<string> {
    const token = d.presets[name];
    if (token === undefined) {
      const names = Object.keys(d.presets);
      throw new Error(`no preset "${name}" (${names.length ? `known: ${names.join(', ')}` : 'none in its presets:'})`);
    }
    await this.linkOf(d).call((cam, cb) => cam.gotoPreset({ preset: token }, cb));
    this.ctx.seen(d.id);
    return name;
  }

  /** Takes a JPEG from the camera's snapshot URI (HTTP Digest, same account), stores it, reports camera.snapshot. */
  private async snapshot(d: CameraDevice): Promise<string> {
    const link = this.linkOf(d);
    const { uri } = await link.call<{ uri: string }>((cam, cb) => cam.getSnapshotUri({}, cb));
    const account = this.cameras.get(d.id)!.account!;
    const res = await new DigestClient(account)
      .fetch(uri, { signal: AbortSignal.timeout(this.config.requestTimeoutMs) })
      .catch((err: unknown) => {
        throw new Error(`snapshot ${uri}: ${errorMessage(err)}`);
      });
    const jpeg = Buffer.from(await res.arrayBuffer());
    if (res.status !== 200) throw new Error(`snapshot ${uri}: HTTP ${res.status}${res.status === 401 ? ' (user name or password refused)' : ''}`);
    if (jpeg[0] !== 0xff || jpeg[1] !== 0xd8) throw new Error(`snapshot ${uri}: not a JPEG (${jpeg.length} bytes, ${res.headers.get('content-type')})`);
    const pictureRef = this.ctx.files.save(jpeg, 'jpg');
    this.ctx.emit({ deviceId: d.id, type: 'camera.snapshot', kind: 'event', severity: 'info', data: { pictureRef } });
    return pictureRef;
  }

  /**
   * Alarm video linkage: turn to the preset for the alarm's device (or its zone, building, or the
   * camera's preset for all it watches), then take a snapshot. The answer is kept in the alarm's
   * history: `{ camera, preset, snapshot }`.
   */
  private async link(d: CameraDevice, a: { device?: string; building?: string; zone?: string }): Promise<CommandResult> {
    const preset = presetFor(d.watches, a);
    const errors: string[] = [];
    if (preset !== undefined) {
      try {
        await this.goto(d, preset);
        if (this.config.presetSettleMs > 0) await new Promise<void>((r) => this.ctx.clock.after(this.config.presetSettleMs, r));
      } catch (err) {
        errors.push(`preset ${preset}: ${errorMessage(err)}`);
      }
    }
    let snapshot: string | undefined;
    try {
      snapshot = await this.snapshot(d);
    } catch (err) {
      errors.push(`snapshot: ${errorMessage(err)}`);
    }
    if (errors.length > 0)
      return { ok: false, error: `${d.id} camera.link: ${errors.join('; ')}${snapshot ? ` (snapshot ${snapshot} taken)` : ''}` };
    return { ok: true, data: { camera: d.id, preset: preset ?? null, snapshot } };
  }

  /**
   * The RTSP URI of the camera's first profile, with the camera account in it (RFC 3986 userinfo):
   * ffmpeg and ffprobe authenticate RTSP (Basic or Digest) only from the URI's user and password.
   */
  private async streamUri(d: CameraDevice): Promise<string> {
    const { uri } = await this.linkOf(d).call<{ uri: string }>((cam, cb) => cam.getStreamUri({ protocol: 'RTSP' }, cb));
    const account = this.cameras.get(d.id)!.account!;
    const url = new URL(uri);
    if (!url.username) {
      url.username = encodeURIComponent(account.username);
      url.password = encodeURIComponent(account.password);
    }
    return url.toString();
  }

  /** One notification: property topics report a change of their event's state; pulses are events each. */
  private notified(c: Camera, n: Notification): void {
    const id = c.device.id;
    this.ctx.seen(id);
    const type = n.mapping.event;
    if (n.on === undefined) {
      const data = { ...(n.rule !== undefined ? { rule: n.rule } : {}), ...(n.objectId !== undefined ? { objectId: n.objectId } : {}) };
      // A line crossing (a pulse): an Initialized message of a pulse topic is no crossing.
      if (!n.initialized) this.ctx.emit({ deviceId: id, type, kind: 'event', severity: 'info', data });
      return;
    }
    if (type === 'camera.motion' && c.device.nightMotion) this.nightMotion(c, n, n.on);
    // Several topics may report one state (MotionAlarm and CellMotionDetector): it is on while any is.
    const s = c.states.get(type) ?? { sources: new Map<string, boolean>() };
    c.states.set(type, s);
    s.sources.set(`${n.topic}|${n.rule ?? ''}`, n.on);
    const on = [...s.sources.values()].some(Boolean);
    // Unknown before (first subscription): only a state that is on is news.
    if (on === s.reported || (s.reported === undefined && !on)) {
      s.reported = on;
      return;
    }
    s.reported = on;
    const alarm = type === 'camera.tamper' || type === 'camera.video-loss';
    const zone = n.rule !== undefined && (type === 'camera.motion' || type === 'camera.intrusion') ? { zone: n.rule } : {};
    this.ctx.emit({
      deviceId: id,
      type,
      kind: alarm ? 'alarm' : 'event',
      severity: alarm && on ? 'major' : 'info',
      data: { on, ...zone },
    });
  }

  /**
   * camera.motion.night: motion of a counted rule/zone (all motion without `zones`) starts inside
   * the night window, in the site's local time. Several counted topics reporting one motion are
   * one start; a motion already on when the window opens is no new start.
   */
  private nightMotion(c: Camera, n: Notification, on: boolean): void {
    const night = c.device.nightMotion!;
    if (!counts(night, n)) return;
    const wasOn = [...c.night.values()].some(Boolean);
    c.night.set(`${n.topic}|${n.rule ?? ''}|${n.zone ?? ''}`, on);
    if (wasOn || !on || !isNight(night, this.ctx.clock.now(), this.ctx.site.timezone)) return;
    const data = { ...(n.zone !== undefined ? { zone: n.zone } : {}), ...(n.rule !== undefined ? { rule: n.rule } : {}) };
    this.ctx.emit({ deviceId: c.device.id, type: 'camera.motion.night', kind: 'event', severity: 'info', data });
  }
}
