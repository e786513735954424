/**
 * The camera's pictures: an RTSP stream and a JPEG snapshot, made with the system's programs.
 *
 * `rtsp-server-perl` (Debian rtsp-server-perl) listens on two free loopback ports: `ffmpeg` publishes
 * its test source to the source port with ANNOUNCE/RECORD, clients read from the client port
 * (RFC 2326). That server carries RTP over UDP only: it refuses interleaved RTP over the RTSP
 * connection ("Failed to find client RTP start port in SETUP request", 400), so publisher and
 * readers use `-rtsp_transport udp`. ffmpeg is started again if it dies while the stream runs;
 * both are stopped by their pids.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { freePort } from '../../gateway/core/free-port.js';

export const FFMPEG = '/usr/bin/ffmpeg';
export const RTSP_SERVER = '/usr/bin/rtsp-server-perl';
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

/** Which video encoder Debian's ffmpeg has: libx264 (H.264), else MPEG-4 Part 2. */
async function encoderArgs(): Promise<string[]> {
  const { stdout } = await run(FFMPEG, ['-hide_banner', '-encoders'], { timeout: 20_000 });
  return /\blibx264\b/.test(stdout)
    ? ['-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '15']
    : ['-c:v', 'mpeg4', '-g', '15'];
}

/** Two consecutive UDP ports free on 127.0.0.1 right now, the first even (RTP, RTCP). */
async function freeUdpPair(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const base = 20_000 + 2 * Math.floor(Math.random() * 20_000);
    const ok = await Promise.all([base, base + 1, base + 2, base + 3].map(udpFree));
    if (ok.every(Boolean)) return base;
  }
  throw new Error('no free UDP port pair on 127.0.0.1 for the RTSP server');
}

function udpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.once('error', () => resolve(false));
    s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

export interface RtspStreamOptions {
  /** Mount path, default `stream1`. */
  path?: string;
  /** Log lines of the child programs (default: dropped). */
  log?: (line: string) => void;
}

export class RtspStream {
  private server?: ChildProcess;
  private publisher?: ChildProcess;
  private stopped = false;
  private clientPort = 0;
  private sourcePort = 0;
  /** How many times ffmpeg was started (restarts included). */
  publisherStarts = 0;

  constructor(private readonly o: RtspStreamOptions = {}) {}

  get uri(): string {
    return `rtsp://127.0.0.1:${this.clientPort}/${this.o.path ?? 'stream1'}`;
  }

  get pids(): { server?: number; publisher?: number } {
    return { server: this.server?.pid, publisher: this.publisher?.pid };
  }

  async start(): Promise<void> {
    const encoder = await encoderArgs();
    this.clientPort = await freePort();
    this.sourcePort = await freePort();
    await this.run(encoder);
  }

  /** rtsp-server-perl, then ffmpeg publishing to it; both again (same ports) when ffmpeg dies. */
  private async run(encoder: string[]): Promise<void> {
    const rtpStart = await freeUdpPair();
    this.server = this.spawn(RTSP_SERVER, [
      '--clientport', String(this.clientPort), '--serverport', String(this.sourcePort),
      '--client_listen_address', '127.0.0.1', '--source_listen_address', '127.0.0.1',
      '--rtp_start_port', String(rtpStart), '--loglevel', '1',
    ]);
    await this.waitListening(this.sourcePort);
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
      '-hide_banner', '-loglevel', 'error', '-nostdin', '-re', '-f', 'lavfi', '-i', 'testsrc=size=640x360:rate=15',
      ...encoder, '-pix_fmt', 'yuv420p', '-f', 'rtsp', '-rtsp_transport', 'udp',
      `rtsp://127.0.0.1:${this.sourcePort}/${this.o.path ?? 'stream1'}`,
    ]);
    this.publisher = p;
    p.once('exit', () => {
      if (this.stopped || this.publisher !== p) return;
      // rtsp-server-perl keeps the dead source's mount (no TEARDOWN came): start it afresh too
      void stopChild(this.server)
        .then(() => (this.stopped ? undefined : this.run(encoder)))
        .catch((e: Error) => this.o.log?.(`rtsp stream: ${e.message}`));
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

  private async waitListening(port: number): Promise<void> {
    for (let i = 0; i < 200; i++) {
      if (this.server?.exitCode !== null) throw new Error(`${RTSP_SERVER} exited (code ${this.server?.exitCode}); is it installed?`);
      const up = await new Promise<boolean>((resolve) => {
        const s = connect(port, '127.0.0.1', () => (s.destroy(), resolve(true)));
        s.once('error', () => resolve(false));
      });
      if (up) return;
      await sleep(50);
    }
    throw new Error(`${RTSP_SERVER} does not listen on 127.0.0.1:${port} after 10 s`);
  }
}

async function stopChild(p: ChildProcess | undefined): Promise<void> {
  if (!p || p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => p.once('exit', () => resolve()));
  p.kill('SIGTERM');
  const t = setTimeout(() => p.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(t);
}
