/**
 * One camera's live stream: ffmpeg, started through node-rtsp-stream's `Mpeg1Muxer`, reads the
 * camera's RTSP stream and writes MPEG-1 video in MPEG-TS to its stdout, the format the JSMpeg
 * player decodes in the browser. (node-rtsp-stream's `VideoStream` is not used: it opens a
 * WebSocket server of its own, on its own port, without any login.)
 *
 * ffmpeg's command line is `ffmpeg -i <url> -f mpegts -codec:v mpeg1video <our options> -`:
 * - our options come after `-i`, so they are output options and `-rtsp_transport tcp` (an input
 *   option) cannot be given; the RTSP URL option `?tcp` (`&tcp` after an existing query) asks
 *   ffmpeg for RTP interleaved over the RTSP connection (RFC 2326 §10.12) instead, which crosses
 *   NAT and firewalls and loses no packets;
 * - MPEG-1 video (ISO/IEC 11172-2) allows only the standard frame rates (23.976, 24, 25, 29.97,
 *   30, 50, 59.94, 60): a camera at 15 or 12.5 fps would be refused, so `-r 25`;
 * - JSMpeg decodes I and P pictures only: `-bf 0`; no audio: `-an`;
 * - the picture is scaled down to `maxWidth` (aspect kept, even height) and `bitrateKbps`, light
 *   enough for a phone on Wi-Fi and sharp enough for a duty screen.
 *
 * Before each start the camera is asked for its stream address (it may have changed after a
 * reboot). When ffmpeg exits while the stream is wanted it is started again after the shared
 * backoff, reset once data flows again. `stop()` kills ffmpeg by its pid.
 */
import Mpeg1Muxer from 'node-rtsp-stream/mpeg1muxer.js';
import { Backoff, type BackoffOptions } from '../core/backoff.js';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { VideoConfig } from './video-config.js';

export interface CameraStreamOptions {
  camera: string;
  /** The camera's RTSP URI (its `stream.uri` command); rejects with a readable message. */
  resolveUri: () => Promise<string>;
  config: Pick<VideoConfig, 'maxWidth' | 'bitrateKbps' | 'ffmpegPath'>;
  /** A chunk of MPEG-TS (not aligned on 188-byte packets; JSMpeg buffers). */
  onData: (chunk: Buffer) => void;
  /** The stream cannot start (no stream address on the first try, no ffmpeg): it stops trying. */
  onFailed: (error: string) => void;
  /** ffmpeg exited while wanted and will be started again. */
  onRestart?: () => void;
  log: Logger;
  backoff?: BackoffOptions;
}

/** How long ffmpeg gets to quit on SIGTERM before SIGKILL. */
const KILL_GRACE_MS = 3_000;

export class CameraStream {
  private muxer?: Mpeg1Muxer;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private readonly backoff: Backoff;
  /** ffmpeg processes started so far. */
  starts = 0;

  constructor(private readonly o: CameraStreamOptions) {
    this.backoff = new Backoff(o.backoff ?? { initialMs: 1_000, maxMs: 30_000 });
  }

  /** The running ffmpeg's pid. */
  get pid(): number | undefined {
    const child = this.muxer?.stream;
    return child && child.exitCode === null && child.signalCode === null ? child.pid : undefined;
  }

  start(): void {
    void this.run();
  }

  /** Kills ffmpeg (by its pid) and starts nothing more; resolves once it has exited. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    const child = this.muxer?.stream;
    const pid = this.pid;
    if (!child || pid === undefined) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    kill(pid, 'SIGTERM');
    const hard = setTimeout(() => kill(pid, 'SIGKILL'), KILL_GRACE_MS);
    await exited;
    clearTimeout(hard);
  }

  private async run(): Promise<void> {
    let uri: string;
    try {
      uri = rtspOverTcp(await this.o.resolveUri());
    } catch (err) {
      if (this.stopped) return;
      if (this.starts === 0) return this.o.onFailed(errorMessage(err));
      this.o.log.warn({ camera: this.o.camera, err: errorMessage(err) }, 'live view: no stream address; trying again');
      return this.again();
    }
    if (this.stopped) return;
    this.starts++;
    const { ffmpegPath } = this.o.config;
    const muxer = new Mpeg1Muxer({ url: uri, ffmpegPath, ffmpegOptions: outputOptions(this.o.config) });
    this.muxer = muxer;
    const child = muxer.stream;
    let lastLine = '';
    let flowing = false;
    let missing = false;
    muxer.on('mpeg1data', (chunk: Buffer) => {
      if (!flowing) this.backoff.reset();
      flowing = true;
      this.o.onData(chunk);
    });
    muxer.on('ffmpegStderr', (b: Buffer) => {
      lastLine = b.toString().trim().split('\n').pop()?.slice(0, 300) ?? lastLine;
    });
    child.on('error', (err: NodeJS.ErrnoException) => {
      missing = err.code === 'ENOENT';
      lastLine = err.message;
    });
    child.once('close', (code, signal) => {
      if (this.stopped) return;
      if (missing) {
        this.stopped = true;
        return this.o.onFailed(`ffmpeg not found at "${ffmpegPath}": install ffmpeg or set video.ffmpegPath`);
      }
      this.o.log.warn(
        { camera: this.o.camera, code, signal, ffmpeg: lastLine, url: redacted(uri) },
        'live view: ffmpeg exited; starting it again',
      );
      this.o.onRestart?.();
      this.again();
    });
  }

  private again(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.run(), this.backoff.next());
  }
}

/** ffmpeg's output options (after `-f mpegts -codec:v mpeg1video`); see the file comment. */
export function outputOptions(c: Pick<VideoConfig, 'maxWidth' | 'bitrateKbps'>): Record<string, string> {
  return {
    '-loglevel': 'error',
    '-nostdin': '',
    '-an': '',
    '-r': '25',
    '-bf': '0',
    '-b:v': `${c.bitrateKbps}k`,
    '-vf': `scale='min(${c.maxWidth},iw)':-2`,
  };
}

/** The camera's RTSP URI with ffmpeg's `tcp` URL option; anything but rtsp(s):// is refused. */
export function rtspOverTcp(uri: string): string {
  if (!/^rtsps?:\/\/[^/\s]+/i.test(uri)) {
    throw new Error(`the camera's stream address is not an rtsp:// URL: ${JSON.stringify(redacted(uri).slice(0, 200))}`);
  }
  return `${uri}${uri.includes('?') ? '&' : '?'}tcp`;
}

/** The URI without a password, for logs. */
function redacted(uri: string): string {
  return uri.replace(/^(\w+:\/\/[^:/@]*):[^@/]*@/, '$1:***@');
}

function kill(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}
