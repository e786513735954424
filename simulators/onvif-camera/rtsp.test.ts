/**
 * The simulated camera's RTSP stream (gst-rtsp-server fed by ffmpeg) read by ffprobe at the URI
 * GetStreamUri gives: RTP interleaved in the RTSP TCP connection (as the gateway's live view reads
 * it), and over UDP; ffmpeg is started again when it dies. Everything listens on 127.0.0.1.
 *
 * Needs /usr/bin/ffmpeg, /usr/bin/ffprobe, /usr/bin/python3 with python3-gi and
 * gir1.2-gst-rtsp-server-1.0, gstreamer1.0-plugins-base/-good (scripts/install-test-deps.sh).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Cam } from 'onvif';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../gateway/testing/wait-for.js';
import { OnvifCameraSimulator } from './camera.js';

const run = promisify(execFile);
let sim: OnvifCameraSimulator;

beforeAll(async () => {
  sim = new OnvifCameraSimulator({ username: 'admin', password: 'pw', stream: true });
  await sim.start();
}, 60_000);
afterAll(() => sim?.close());

type Stream = { codec_name: string; width: number; height: number };

/** ffprobe's view of the stream; `transport` is ffmpeg's -rtsp_transport (none: the URI's `?tcp` option decides). */
async function probe(uri: string, transport?: 'tcp' | 'udp'): Promise<Stream | undefined> {
  const how = transport ? ['-rtsp_transport', transport] : [];
  try {
    const { stdout } = await run('/usr/bin/ffprobe', ['-v', 'error', ...how, '-show_entries', 'stream=codec_name,width,height', '-of', 'json', uri], { timeout: 20_000 });
    return (JSON.parse(stdout) as { streams: Stream[] }).streams[0];
  } catch {
    return undefined;
  }
}

/** GetStreamUri through the npm onvif client, asking for the given StreamSetup/Transport/Protocol. */
async function streamUri(protocol: string): Promise<string> {
  const cam = await new Promise<Cam>((resolve, reject) => {
    const c: Cam = new Cam({ hostname: '127.0.0.1', port: Number(new URL(sim.url).port), username: 'admin', password: 'pw', timeout: 20_000 }, (err) =>
      err ? reject(err) : resolve(c),
    );
  });
  return new Promise((resolve, reject) =>
    cam.getStreamUri({ protocol }, (err, media) => (err ? reject(err) : resolve((media as { uri: string }).uri))),
  );
}

describe('RTSP stream of the simulated camera', { timeout: 120_000 }, () => {
  it('is named by GetStreamUri for Protocol RTSP and TCP alike', async () => {
    expect(sim.streamUri).toMatch(/^rtsp:\/\/127\.0\.0\.1:\d+\/stream1$/);
    expect(await streamUri('RTSP')).toBe(sim.streamUri);
    expect(await streamUri('TCP')).toBe(sim.streamUri);
    expect(await streamUri('UDP')).toBe(sim.streamUri);
    await expect(streamUri('HTTP')).rejects.toThrow(/Protocol "HTTP" is not offered/);
  });

  it('is readable over RTSP/TCP (interleaved RTP): H.264 640x360', async () => {
    const stream = await waitFor('ffprobe to read the stream over TCP', () => probe(sim.streamUri, 'tcp'), { timeoutMs: 60_000, everyMs: 1000 });
    expect(stream).toEqual({ codec_name: 'h264', width: 640, height: 360 });
    expect(await probe(`${sim.streamUri}?tcp`)).toEqual({ codec_name: 'h264', width: 640, height: 360 });
  });

  it('is readable over UDP too', async () => {
    const stream = await waitFor('ffprobe to read the stream over UDP', () => probe(sim.streamUri, 'udp'), { timeoutMs: 60_000, everyMs: 1000 });
    expect(stream).toEqual({ codec_name: 'h264', width: 640, height: 360 });
  });

  it('comes back when ffmpeg dies', async () => {
    const before = sim.rtsp!.publisherStarts;
    const pid = sim.rtsp!.pids.publisher;
    sim.rtsp!.killPublisher();
    await waitFor('ffmpeg started again', () => sim.rtsp!.publisherStarts > before && sim.rtsp!.pids.publisher !== pid, { timeoutMs: 30_000 });
    const stream = await waitFor('ffprobe to read the stream again', () => probe(sim.streamUri, 'tcp'), { timeoutMs: 60_000, everyMs: 1000 });
    expect(stream?.codec_name).toBe('h264');
  });

  it('stops the RTSP server and ffmpeg by pid on close', async () => {
    const { server, publisher } = sim.rtsp!.pids;
    await sim.close();
    const alive = (pid: number | undefined) => {
      try {
        return pid !== undefined && process.kill(pid, 0);
      } catch {
        return false;
      }
    };
    expect([alive(server), alive(publisher)]).toEqual([false, false]);
  });
});
