/**
 * The simulated camera's RTSP stream (rtsp-server-perl fed by ffmpeg) read by ffprobe at the URI
 * GetStreamUri gives; ffmpeg is started again when it dies.
 *
 * Needs /usr/bin/ffmpeg, /usr/bin/ffprobe and /usr/bin/rtsp-server-perl (scripts/install-test-deps.sh).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
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

/** ffprobe's view of the stream (UDP transport: the only one rtsp-server-perl carries). */
async function probe(uri: string): Promise<{ codec_name: string; width: number; height: number } | undefined> {
  try {
    const { stdout } = await run('/usr/bin/ffprobe', ['-v', 'error', '-rtsp_transport', 'udp', '-show_entries', 'stream=codec_name,width,height', '-of', 'json', uri], { timeout: 20_000 });
    return (JSON.parse(stdout) as { streams: { codec_name: string; width: number; height: number }[] }).streams[0];
  } catch {
    return undefined;
  }
}

describe('RTSP stream of the simulated camera', { timeout: 120_000 }, () => {
  it('is readable at the stream URI: H.264 640x360', async () => {
    expect(sim.streamUri).toMatch(/^rtsp:\/\/127\.0\.0\.1:\d+\/stream1$/);
    const stream = await waitFor('ffprobe to read the stream', () => probe(sim.streamUri), { timeoutMs: 60_000, everyMs: 1000 });
    expect(stream).toEqual({ codec_name: 'h264', width: 640, height: 360 });
  });

  it('comes back when ffmpeg dies', async () => {
    const before = sim.rtsp!.publisherStarts;
    const pid = sim.rtsp!.pids.publisher;
    sim.rtsp!.killPublisher();
    await waitFor('ffmpeg started again', () => sim.rtsp!.publisherStarts > before && sim.rtsp!.pids.publisher !== pid, { timeoutMs: 30_000 });
    const stream = await waitFor('ffprobe to read the stream again', () => probe(sim.streamUri), { timeoutMs: 60_000, everyMs: 1000 });
    expect(stream?.codec_name).toBe('h264');
  });
});
