/**
 * The camera's pictures: an RTSP stream and a JPEG snapshot, made with the system's programs.
 *
 * The RTSP server (RFC 2326) is GStreamer's gst-rtsp-server, run by `rtsp-server.py` with Debian's
 * `/usr/bin/python3` (python3-gi): it binds a TCP port for RTSP and a UDP port pair on the camera's
 * host (chosen by the system, held for its life), says which, and serves the H.264 RTP that `ffmpeg`
 * sends to that UDP port, to readers asking for RTP over UDP or interleaved in the RTSP connection
 * (RTP/AVP/TCP), as real cameras do. ffmpeg is started again (same UDP port) if it dies while the
 * stream runs; both are stopped by their pids.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

export const FFMPEG = '/usr/bin/ffmpeg';
/** Debian's python (python3-gi, gir1.2-gst-rtsp-server-1.0), not whichever python3 is first on PATH. */
export const PYTHON = '/usr/bin/python3';
export const RTSP_SERVER_SCRIPT = fileURLToPath(new URL('./rtsp-server.py', import.meta.url));
const RTSP_PACKAGES = 'python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good';
const run = promisify(execFile);

/** An 8x8 grey JPEG, for when ffmpeg cannot make a picture. */
export const FALLBACK_JPEG = Buffer.from(
  '/9j/4AAQSkZJRgABAgAAAQABAAD//gAQTGF2YzU5LjM3LjEwMAD/2wBDAAgEBAQEBAUFBQUFBQYGBgYGBgYGBgYGBgYHBwcICAgH' +
    'BwcGBgcHCAgICAkJCQgICAgJCQoKCgwMCwsODg4RERT/xABKAAEAAAAAAAAAAAAAAAAAAAAAAQEAAAAAAAAAAAAAAAAAAAAAEAEA' +
    'AAAAAAAAAAAAAAAAAAAAEQEAAAAAAAAAAAAAAAAAAAAA/8AAEQgACAAIAwEiAAIRAAMRAP/aAAwDAQACEQMRAD8AAA//2Q==',
  'base64',
);

/** A 640x360 frame of the test source as JPEG (ffmpeg), or the fallback picture if ffmpeg fails. */
export async function snapshotJpeg(): Promise<Buffer> {
  try {
    const { stdout } = await run(
      FFMPEG,
      ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc=size=640x360:rate=1', '-frames:v', '1', '-c:v', 'mjpeg', '-f', 'image2pipe', 'pipe:1'],
      { encoding: 'buffer', timeout: 20_000, maxBuffer: 4 << 20 },
    );
    return stdout.length > 0 ? stdout : FALLBACK_JPEG;
  } catch {
    return FALLBACK_JPEG;
  }
}

/** Which video encoder Debian's ffmpeg has: libx264 (H.264, what the RTSP server carries), or none. */
async function encoderArgs(): Promise<string[]> {
  const { stdout } = await run(FFMPEG, ['-hide_banner', '-encoders'], { timeout: 20_000 });
  if (!/\blibx264\b/.test(stdout)) throw new Error(`${FFMPEG} has no libx264 encoder: install Debian's ffmpeg (libavcodec with libx264)`);
  return ['-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '25', '-pix_fmt', 'yuv420p'];
}

export interface RtspStreamOptions {
  /** Where the RTSP server listens and ffmpeg sends RTP (default 127.0.0.1). */
  host?: string;
  /** Mount path, default `stream1`. */
  path?: string;
  /** Log lines of the child programs (default: dropped). */
  log?: (line: string) => void;
}

export class RtspStream {
  private server?: ChildProcess;
  private publisher?: ChildProcess;
  private stopped = false;
  private rtspPort = 0;
  private udpPort = 0;
  /** How many times ffmpeg was started (restarts included). */
  publisherStarts = 0;

  constructor(private readonly o: RtspStreamOptions = {}) {}

  private get host(): string {
    return this.o.host ?? '127.0.0.1';
  }

  get uri(): string {
    return `rtsp://${this.host}:${this.rtspPort}/${this.o.path ?? 'stream1'}`;
  }

  get pids(): { server?: number; publisher?: number } {
    return { server: this.server?.pid, publisher: this.publisher?.pid };
  }

  /** The RTSP server, then ffmpeg sending its test source to the server's UDP port. */
  async start(): Promise<void> {
    const encoder = await encoderArgs();
    this.server = this.spawn(PYTHON, [RTSP_SERVER_SCRIPT, this.host, this.o.path ?? 'stream1']);
    try {
      await this.waitListening();
    } catch (err) {
      await this.stop();
      throw err;
    }
    this.publish(encoder);
  }

  /** Kills ffmpeg as if it crashed (it is started again). */
  killPublisher(): void {
    this.publisher?.kill('SIGKILL');
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all([this.publisher, this.server].map((p) => stopChild(p)));
  }

  private publish(encoder: string[]): void {
    if (this.stopped) return;
    this.publisherStarts++;
    const p = this.spawn(FFMPEG, [
      '-hide_banner', '-loglevel', 'error', '-nostdin', '-re', '-f', 'lavfi', '-i', 'testsrc=size=640x360:rate=25',
      ...encoder, '-f', 'rtp', '-sdp_file', '/dev/null', `rtp://${this.host}:${this.udpPort}`,
    ]);
    this.publisher = p;
    p.once('exit', () => {
      if (this.stopped || this.publisher !== p) return;
      void sleep(200).then(() => this.publish(encoder));
    });
  }

  private spawn(cmd: string, args: string[]): ChildProcess {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const log = (b: Buffer) => this.o.log?.(`${cmd}: ${b.toString().trimEnd()}`);
    p.stdout?.on('data', log);
    p.stderr?.on('data', log);
    p.once('error', (e) => this.o.log?.(`${cmd}: ${e.message}`));
    return p;
  }

  /** Until the server's `listening rtsp://<host>:<port>/<mount> rtp=<udp-port>` line, which gives both ports. */
  private async waitListening(): Promise<void> {
    const server = this.server!;
    const out: Buffer[] = [];
    const stderr: Buffer[] = [];
    const onOut = (b: Buffer) => out.push(b);
    const onErr = (b: Buffer) => stderr.push(b);
    server.stdout?.on('data', onOut);
    server.stderr?.on('data', onErr);
    try {
      for (let i = 0; i < 300; i++) {
        const m = /^listening rtsp:\/\/\S+?:(\d+)\/\S* rtp=(\d+)$/m.exec(Buffer.concat(out).toString());
        if (m) {
          this.rtspPort = Number(m[1]);
          this.udpPort = Number(m[2]);
          return;
        }
        if (server.exitCode !== null || server.signalCode !== null || server.pid === undefined) {
          const why = Buffer.concat(stderr).toString().trim().split('\n').slice(-3).join(' | ');
          throw new Error(`${PYTHON} ${RTSP_SERVER_SCRIPT} exited (code ${server.exitCode})${why ? `: ${why}` : ''}; it needs the Debian packages ${RTSP_PACKAGES}`);
        }
        await sleep(50);
      }
      throw new Error(`${PYTHON} ${RTSP_SERVER_SCRIPT} did not say it listens on ${this.host} within 15 s`);
    } finally {
      server.stdout?.off('data', onOut);
      server.stderr?.off('data', onErr);
    }
  }
}

async function stopChild(p: ChildProcess | undefined): Promise<void> {
  if (!p || p.pid === undefined || p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => p.once('exit', () => resolve()));
  p.kill('SIGTERM');
  const t = setTimeout(() => p.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(t);
}
