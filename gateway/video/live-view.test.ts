/**
 * The live view against the simulated ONVIF camera's real RTSP stream, read by the real ffmpeg
 * over RTSP/TCP (interleaved RTP): MPEG-1 in MPEG-TS to WebSocket viewers, one ffmpeg per
 * camera started on demand and killed when the last viewer leaves, restarted when it dies, the
 * stream limit (4429), and the refusals before the upgrade (401, 404). All on 127.0.0.1.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { OnvifCameraSimulator } from '../../simulators/onvif-camera/index.js';
import type { Execute } from '../core/command-result.js';
import { createLogger } from '../core/logger.js';
import { waitFor } from '../testing/wait-for.js';
import { LiveView, type LiveViewOptions } from './live-view.js';
import { VideoConfig } from './video-config.js';

const COOKIE = 'cg_console=good-session';
let sim: OnvifCameraSimulator;
let server: Server;
let base: string;
let view: LiveView | undefined;
const sockets: WebSocket[] = [];
let ffmpegAsked: string[] = [];

beforeAll(async () => {
  sim = new OnvifCameraSimulator({ username: 'admin', password: 'pw', stream: true });
  await sim.start();
  server = createServer((_req, res) => res.writeHead(404).end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 60_000);

afterEach(async () => {
  for (const ws of sockets.splice(0)) ws.terminate();
  await view?.close();
  view = undefined;
});

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await sim?.close();
});

/** The command path as the ONVIF family answers it: `stream.uri` → `{ uri }` from GetStreamUri. */
const execute: Execute = async (id, name) => {
  ffmpegAsked.push(id);
  if (name !== 'stream.uri') return { ok: false, error: `unknown command ${name}` };
  if (id === 'cam-gate' || id === 'cam-yard') return { ok: true, data: { uri: sim.streamUri } };
  if (id === 'cam-offline') return { ok: false, error: 'device offline' };
  return { ok: false, error: `no device ${id}` };
};

function start(o: Partial<LiveViewOptions> & { video?: Partial<VideoConfig> } = {}): { view: LiveView; registry: Registry } {
  const registry = new Registry();
  ffmpegAsked = [];
  view = new LiveView({
    server,
    execute,
    isCamera: (id) => id.startsWith('cam-'),
    authorize: async (req) => (req.headers.cookie === COOKIE ? { user: 'duty', role: 'reader' } : undefined),
    config: VideoConfig.parse(o.video ?? {}),
    log: createLogger('silent'),
    registry,
    backoff: { initialMs: 100, maxMs: 500 },
    ...o,
  });
  return { view, registry };
}

interface Watcher {
  ws: WebSocket;
  data: Buffer[];
  bytes(): number;
  closed: Promise<{ code: number; reason: string }>;
}

function watch(camera: string, headers: Record<string, string> = { cookie: COOKIE }): Watcher {
  const ws = new WebSocket(`${base}/console/video/live/${camera}`, { headers });
  sockets.push(ws);
  const data: Buffer[] = [];
  ws.on('message', (d: Buffer) => data.push(d));
  ws.on('error', () => {});
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  return { ws, data, closed, bytes: () => data.reduce((n, b) => n + b.length, 0) };
}

/** The HTTP status of a refused upgrade. */
function refusedStatus(camera: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${base}/video/live/${camera}`, { headers });
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
    });
    ws.on('open', () => reject(new Error('upgrade accepted')));
    ws.on('error', () => {});
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * What an MPEG-TS byte stream carries (ISO/IEC 13818-1): every 188-byte packet starts with 0x47;
 * the PAT (PID 0) names the PMT, whose entries give each elementary stream's type. Also whether
 * the video has sequence headers (00 00 01 B3) and no MPEG-2 extension (00 00 01 B5): MPEG-1.
 */
function mpegTs(buf: Buffer): { packets: number; syncOk: boolean; streamTypes: number[]; sequenceHeader: boolean; extension: boolean } {
  const packets = Math.floor(buf.length / 188);
  let syncOk = packets > 0;
  let pmtPid: number | undefined;
  const streamTypes = new Set<number>();
  for (let i = 0; i < packets; i++) {
    const p = buf.subarray(i * 188, i * 188 + 188);
    if (p[0] !== 0x47) syncOk = false;
    const pid = ((p[1]! & 0x1f) << 8) | p[2]!;
    const unitStart = (p[1]! & 0x40) !== 0;
    const afc = (p[3]! >> 4) & 0x3;
    let off = 4 + (afc & 0x2 ? 1 + p[4]! : 0);
    if (!unitStart || (pid !== 0 && pid !== pmtPid)) continue;
    off += 1 + p[off]!; // pointer field
    const sectionEnd = off + 3 + (((p[off + 1]! & 0x0f) << 8) | p[off + 2]!) - 4; // minus CRC
    if (pid === 0) {
      pmtPid = ((p[off + 10]! & 0x1f) << 8) | p[off + 11]!; // first program of the PAT
    } else {
      const infoLen = ((p[off + 10]! & 0x0f) << 8) | p[off + 11]!;
      for (let e = off + 12 + infoLen; e + 5 <= sectionEnd; e += 5 + (((p[e + 3]! & 0x0f) << 8) | p[e + 4]!)) {
        streamTypes.add(p[e]!);
      }
    }
  }
  const sequenceHeader = buf.includes(Buffer.from([0x00, 0x00, 0x01, 0xb3]));
  const extension = buf.includes(Buffer.from([0x00, 0x00, 0x01, 0xb5]));
  return { packets, syncOk, streamTypes: [...streamTypes], sequenceHeader, extension };
}

describe('live view of a camera', { timeout: 180_000 }, () => {
  it('streams MPEG-1 video in MPEG-TS read over RTSP/TCP; viewers share one ffmpeg, killed when the last leaves', async () => {
    const { view } = start();
    const a = watch('cam-gate');
    await waitFor('MPEG-TS data for the first viewer', () => a.bytes() > 188 * 200, { timeoutMs: 60_000, everyMs: 100 });
    const ts = mpegTs(Buffer.concat(a.data));
    expect(ts.syncOk).toBe(true);
    // One video stream; ffmpeg's MPEG-TS muxer labels MPEG-1 video 0x02 like MPEG-2 (JSMpeg goes by
    // the PES stream id). MPEG-1, not MPEG-2: sequence headers without the MPEG-2 sequence extension.
    expect(ts.streamTypes).toEqual([0x02]);
    expect(ts.sequenceHeader).toBe(true);
    expect(ts.extension).toBe(false);

    const [running] = view.streams();
    expect(running).toMatchObject({ camera: 'cam-gate', viewers: 1, starts: 1 });
    const pid = running!.pid!;
    expect(alive(pid)).toBe(true);
    // RTSP over TCP: the camera's URI with ffmpeg's `tcp` URL option, nothing else.
    const args = (await import('node:fs')).readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    expect(args[args.indexOf('-i') + 1]).toBe(`${sim.streamUri}?tcp`);
    expect(args).toEqual(expect.arrayContaining(['mpeg1video', '-r', '25']));

    const b = watch('cam-gate');
    await waitFor('data for the second viewer', () => b.bytes() > 188 * 50, { timeoutMs: 60_000, everyMs: 100 });
    expect(view.streams()).toEqual([{ camera: 'cam-gate', pid, viewers: 2, starts: 1 }]);
    expect(mpegTs(Buffer.concat(b.data)).syncOk).toBe(true);

    a.ws.close();
    await waitFor('one viewer left', () => view.streams()[0]?.viewers === 1);
    expect(alive(pid)).toBe(true);
    b.ws.close();
    await waitFor('the stream to stop', () => view.streams().length === 0);
    await waitFor('ffmpeg to be gone', () => !alive(pid), { timeoutMs: 10_000 });
  });

  it('starts ffmpeg again when it dies while a viewer watches, and the data flows again', async () => {
    const { view, registry } = start();
    const a = watch('cam-gate');
    await waitFor('data', () => a.bytes() > 188 * 100, { timeoutMs: 60_000, everyMs: 100 });
    const first = view.streams()[0]!.pid!;
    process.kill(first, 'SIGKILL');
    const second = await waitFor('a new ffmpeg', () => {
      const s = view.streams()[0];
      return s && s.starts === 2 && s.pid !== undefined && s.pid !== first && s.pid;
    }, { timeoutMs: 30_000, everyMs: 50 });
    const before = a.bytes();
    await waitFor('data again', () => a.bytes() > before + 188 * 100, { timeoutMs: 60_000, everyMs: 100 });
    expect(alive(second)).toBe(true);
    expect(a.ws.readyState).toBe(WebSocket.OPEN);
    expect(await registry.getSingleMetricAsString('gateway_video_ffmpeg_restarts_total')).toMatch(/ 1$/m);
  });

  it('turns away a viewer of one camera more than video.maxStreams with 4429 (zh-CN and en), counted', async () => {
    const { view, registry } = start({ video: { maxStreams: 1 } });
    const a = watch('cam-gate');
    await waitFor('data', () => a.bytes() > 0, { timeoutMs: 60_000, everyMs: 100 });
    const b = watch('cam-yard');
    const closed = await b.closed;
    expect(closed.code).toBe(4429);
    expect(closed.reason).toBe('同时观看的视频路数已达上限（1 路），请关闭其他画面后重试 / too many live streams (1)');
    expect(view.streams().map((s) => s.camera)).toEqual(['cam-gate']);
    expect(await registry.getSingleMetricAsString('gateway_video_refused_total')).toContain('reason="too-many-streams"} 1');
    // Another viewer of the camera already streaming shares it: no new stream, so not refused.
    const c = watch('cam-gate');
    await waitFor('data for a viewer of the same camera', () => c.bytes() > 0, { timeoutMs: 60_000, everyMs: 100 });
    expect(view.streams()[0]?.viewers).toBe(2);
  });

  it('refuses before the upgrade: no console session 401, an unknown camera 404; no stream starts', async () => {
    const { view, registry } = start();
    expect(await refusedStatus('cam-gate', {})).toBe(401);
    expect(await refusedStatus('cam-gate', { cookie: 'cg_console=forged' })).toBe(401);
    expect(await refusedStatus('boiler-1', { cookie: COOKIE })).toBe(404);
    expect(await refusedStatus('cam-gate', { cookie: COOKIE, origin: 'http://evil.example' })).toBe(403);
    expect(view.streams()).toEqual([]);
    expect(ffmpegAsked).toEqual([]);
    const text = await registry.getSingleMetricAsString('gateway_video_refused_total');
    expect(text).toContain('reason="no-login"} 2');
    expect(text).toContain('reason="unknown-camera"} 1');
  });

  it('closes the viewer with 4502 and the reason when the camera gives no stream address or ffmpeg is missing', async () => {
    const { view } = start();
    const off = await watch('cam-offline').closed;
    expect(off.code).toBe(4502);
    expect(off.reason).toContain('device offline');
    await waitFor('no stream left', () => view.streams().length === 0);
    await view.close();

    start({ video: { ffmpegPath: '/nonexistent/ffmpeg' } });
    const missing = await watch('cam-gate').closed;
    expect(missing.code).toBe(4502);
    expect(missing.reason).toContain('video.ffmpegPath');
  });

  it('closes a viewer whose console session has ended with 4001', async () => {
    let loggedIn = true;
    start({
      recheckMs: 100,
      authorize: async () => (loggedIn ? { user: 'duty', role: 'reader' } : undefined),
    });
    const a = watch('cam-gate');
    await waitFor('data', () => a.bytes() > 0, { timeoutMs: 60_000, everyMs: 100 });
    loggedIn = false;
    expect((await a.closed).code).toBe(4001);
    await waitFor('the stream to stop', () => view!.streams().length === 0);
  });
});
