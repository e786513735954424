/**
 * Live view of the cameras for the staff console: `GET /video/live/<cameraId>` (also under
 * `/console/video/live/<cameraId>`, where the console's session cookie is sent) upgrades to a
 * WebSocket that carries the camera's picture as binary MPEG-TS frames (MPEG-1 video), as the
 * JSMpeg player expects: `new JSMpeg.Player('wss://<host>/console/video/live/<id>', { canvas })`.
 *
 * Before the upgrade: a page of another origin gets 403, a request without a console session
 * 401, an unknown camera 404. Streams run on demand: the first viewer of a camera starts its
 * ffmpeg (camera-stream.ts), every further viewer shares it, the last one leaving stops it. At
 * most `video.maxStreams` cameras stream at once: a viewer of one more is closed with 4429 and a
 * reason in zh-CN and en. A viewer whose send buffer grows past `maxBufferedBytes` (a slow
 * phone) is dropped rather than held in memory; one whose session has ended is closed with 4001.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { Counter, Gauge, type Registry } from 'prom-client';
import { WebSocket, WebSocketServer } from 'ws';
import type { Execute } from '../core/command-result.js';
import type { BackoffOptions } from '../core/backoff.js';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { originAllowed } from '../console/alarm-feed.js';
import { CameraStream } from './camera-stream.js';
import type { VideoConfig } from './video-config.js';

export const LIVE_PATH = '/video/live/';
export const CONSOLE_LIVE_PATH = '/console/video/live/';
/** The command that answers a camera's RTSP address as `{ uri }`. */
export const STREAM_URI_COMMAND = 'stream.uri';

/** Close codes a viewer may get (the page shows the reason). */
export const CLOSE = {
  /** Too many cameras stream at once. */
  tooManyStreams: 4429,
  /** The console session ended: log in again. */
  sessionEnded: 4001,
  /** The camera gives no stream (no address, no ffmpeg). */
  noStream: 4502,
} as const;

export type Viewer = { user: string; role: string };

export interface LiveViewOptions {
  server: Server;
  /** The gateway's command path: `stream.uri` gives a camera's RTSP address. */
  execute: Execute;
  /** Whether this id is a camera (a device with the `stream.uri` command). */
  isCamera: (deviceId: string) => boolean;
  /** The logged-in console user of the request (its session cookie), or undefined. */
  authorize: (req: IncomingMessage) => Promise<Viewer | undefined>;
  config: VideoConfig;
  log: Logger;
  /** Metrics go here (`gateway_video_*`). */
  registry?: Registry;
  /** Browser origins allowed besides the ops server's own host. */
  allowedOrigins?: readonly string[];
  /** A viewer whose send buffer exceeds this is dropped (default 2 MiB, about 16 s at 1 Mbit/s). */
  maxBufferedBytes?: number;
  /** How often each viewer's session is asked again (default 60 s). */
  recheckMs?: number;
  /** ffmpeg restart backoff (default 1 s up to 30 s). */
  backoff?: BackoffOptions;
}

interface Live {
  stream: CameraStream;
  /** Each viewer's socket, upgrade request (its session is asked again) and user. */
  viewers: Map<WebSocket, { req: IncomingMessage; viewer: Viewer }>;
}

export class LiveView {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 1024 });
  private readonly live = new Map<string, Live>();
  private readonly onUpgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  private readonly recheck: NodeJS.Timeout;
  private readonly metrics;
  private closed = false;

  constructor(private readonly o: LiveViewOptions) {
    this.metrics = liveViewMetrics(o.registry);
    this.onUpgrade = (req, socket, head) => {
      const camera = cameraOf(req.url ?? '');
      if (camera === undefined) return; // another upgrade handler's path (the alarm feed)
      this.upgrade(req, socket, head, camera).catch((err: unknown) => {
        o.log.error({ camera, err: errorMessage(err) }, 'live view: upgrade failed');
        refuse(socket, 500, 'Internal Server Error', 'live view failed; see the gateway log');
      });
    };
    o.server.on('upgrade', this.onUpgrade);
    this.recheck = setInterval(() => void this.recheckSessions(), o.recheckMs ?? 60_000);
    this.recheck.unref();
  }

  /** Streams running now: camera, ffmpeg pid (none between restarts), viewers, ffmpeg starts. */
  streams(): { camera: string; pid?: number; viewers: number; starts: number }[] {
    return [...this.live].map(([camera, l]) => ({
      camera,
      pid: l.stream.pid,
      viewers: l.viewers.size,
      starts: l.stream.starts,
    }));
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.recheck);
    this.o.server.off('upgrade', this.onUpgrade);
    const stops = [...this.live.values()].map((l) => {
      for (const ws of l.viewers.keys()) ws.close(1001, 'gateway stopping');
      return l.stream.stop();
    });
    this.live.clear();
    await Promise.all(stops);
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, camera: string): Promise<void> {
    if (!originAllowed(req.headers.origin, req.headers.host, this.o.allowedOrigins ?? [])) {
      this.metrics.refused.inc({ reason: 'origin' });
      return refuse(socket, 403, 'Forbidden', 'this page may not open the live view');
    }
    const viewer = await this.o.authorize(req);
    if (!viewer) {
      this.metrics.refused.inc({ reason: 'no-login' });
      return refuse(socket, 401, 'Unauthorized', 'log in to the staff console first');
    }
    if (!this.o.isCamera(camera)) {
      this.metrics.refused.inc({ reason: 'unknown-camera' });
      return refuse(socket, 404, 'Not Found', `no camera ${camera} on this gateway`);
    }
    if (this.closed) return refuse(socket, 503, 'Service Unavailable', 'gateway stopping');
    this.wss.handleUpgrade(req, socket, head, (ws) => this.watch(ws, req, camera, viewer));
  }

  private watch(ws: WebSocket, req: IncomingMessage, camera: string, viewer: Viewer): void {
    let l = this.live.get(camera);
    if (!l) {
      const max = this.o.config.maxStreams;
      if (this.live.size >= max) {
        this.metrics.refused.inc({ reason: 'too-many-streams' });
        this.o.log.warn({ camera, user: viewer.user, streams: this.live.size }, 'live view: stream limit reached');
        ws.close(CLOSE.tooManyStreams, reason(`同时观看的视频路数已达上限（${max} 路），请关闭其他画面后重试 / too many live streams (${max})`));
        return;
      }
      l = this.startStream(camera);
    }
    const live = l;
    live.viewers.set(ws, { req, viewer });
    this.metrics.viewers.inc();
    this.o.log.info({ audit: 'live-view', camera, user: viewer.user }, 'live view opened');
    ws.once('close', () => {
      this.metrics.viewers.dec();
      this.leave(camera, live, ws);
    });
    ws.on('error', () => ws.terminate());
  }

  private startStream(camera: string): Live {
    const l: Live = {
      viewers: new Map(),
      stream: new CameraStream({
        camera,
        config: this.o.config,
        log: this.o.log,
        backoff: this.o.backoff,
        resolveUri: () => this.streamUri(camera),
        onData: (chunk) => this.fanOut(l, chunk),
        onRestart: () => this.metrics.restarts.inc(),
        onFailed: (error) => {
          this.o.log.warn({ camera, err: error }, 'live view: camera gives no stream');
          this.metrics.refused.inc({ reason: 'no-stream' });
          for (const ws of l.viewers.keys()) ws.close(CLOSE.noStream, reason(`无法播放视频 / no stream: ${error}`));
        },
      }),
    };
    this.live.set(camera, l);
    this.metrics.streams.set(this.live.size);
    l.stream.start();
    return l;
  }

  private async streamUri(camera: string): Promise<string> {
    const r = await this.o.execute(camera, STREAM_URI_COMMAND, {});
    if (!r.ok) throw new Error(`${camera} ${STREAM_URI_COMMAND}: ${r.error}`);
    const uri = r.data?.uri;
    if (typeof uri !== 'string') throw new Error(`${camera} ${STREAM_URI_COMMAND} answered no uri`);
    return uri;
  }

  private fanOut(l: Live, chunk: Buffer): void {
    const max = this.o.maxBufferedBytes ?? 2 * 1024 * 1024;
    for (const [ws, seat] of l.viewers) {
      if (ws.readyState !== WebSocket.OPEN) continue;
      if (ws.bufferedAmount > max) {
        this.metrics.dropped.inc({ reason: 'slow' });
        this.o.log.warn({ user: seat.viewer.user }, 'live view: viewer too slow; dropped');
        ws.terminate(); // 'close' follows: the viewer leaves
        continue;
      }
      ws.send(chunk, { binary: true });
    }
  }

  private leave(camera: string, l: Live, ws: WebSocket): void {
    l.viewers.delete(ws);
    if (l.viewers.size || this.live.get(camera) !== l) return;
    this.live.delete(camera);
    this.metrics.streams.set(this.live.size);
    void l.stream.stop();
  }

  private async recheckSessions(): Promise<void> {
    for (const l of this.live.values()) {
      for (const [ws, seat] of l.viewers) {
        if (!(await this.o.authorize(seat.req).catch(() => undefined))) {
          ws.close(CLOSE.sessionEnded, 'session ended; log in again');
        }
      }
    }
  }
}

/** The camera id of a live-view path, or undefined for any other path. */
export function cameraOf(url: string): string | undefined {
  const path = url.split('?')[0] ?? '';
  const prefix = path.startsWith(LIVE_PATH) ? LIVE_PATH : path.startsWith(CONSOLE_LIVE_PATH) ? CONSOLE_LIVE_PATH : '';
  if (!prefix) return undefined;
  try {
    return decodeURIComponent(path.slice(prefix.length));
  } catch {
    return path.slice(prefix.length);
  }
}

/** A close reason fits in 123 bytes (RFC 6455 §5.5): cut at a character boundary. */
function reason(text: string): string {
  let out = text;
  while (Buffer.byteLength(out) > 123) out = out.slice(0, -1);
  return out;
}

function refuse(socket: Duplex, status: number, text: string, body: string): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  socket.once('finish', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body) + 1}\r\n\r\n${body}\n`,
  );
}

function liveViewMetrics(registry: Registry | undefined) {
  const registers = registry ? [registry] : [];
  return {
    refused: new Counter({
      name: 'gateway_video_refused_total',
      help: 'Live-view viewers turned away, by reason (origin, no-login, unknown-camera, too-many-streams, no-stream)',
      labelNames: ['reason'] as const,
      registers,
    }),
    dropped: new Counter({
      name: 'gateway_video_viewers_dropped_total',
      help: 'Live-view viewers dropped while watching, by reason (slow: the send buffer grew)',
      labelNames: ['reason'] as const,
      registers,
    }),
    restarts: new Counter({
      name: 'gateway_video_ffmpeg_restarts_total',
      help: 'ffmpeg processes of the live view that exited while watched and were started again',
      registers,
    }),
    streams: new Gauge({ name: 'gateway_video_streams', help: 'Camera streams transcoded now', registers }),
    viewers: new Gauge({ name: 'gateway_video_viewers', help: 'Live-view viewers connected now', registers }),
  };
}
