/**
 * The live view as the gateway wires it on its ops server: the console's session cookie is the
 * login (no cookie or a logged-out one: 401), only devices with the `stream.uri` command are
 * cameras (404 for a gas detector), `video.maxStreams` comes from the site file, and the alarm
 * feed on the same server still upgrades.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { RunningGasSimulatorTcp } from '../../simulators/gas-detector/index.js';
import {
  bootGateway,
  CONSOLE_PASSWORD,
  CONSOLE_USER,
  feedClient,
  siteConfig,
  startGasSim,
} from '../alarms/testing/gateway-harness.js';
import { consoleClient } from '../console/testing/console-client.js';

let sim: RunningGasSimulatorTcp;
let gw: Awaited<ReturnType<typeof bootGateway>>;

beforeAll(async () => {
  sim = await startGasSim();
  gw = await bootGateway(siteConfig(sim, { video: { maxStreams: 2 } }));
}, 60_000);

afterAll(async () => {
  await gw?.close();
  await sim?.close();
});

/** The HTTP status of the upgrade of `path`, or 101 when it is accepted. */
function upgradeStatus(path: string, cookie?: string): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${gw.http.url.replace(/^http/, 'ws')}${path}`, { headers: cookie ? { cookie } : {} });
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
    });
    ws.on('open', () => {
      resolve(101);
      ws.terminate();
    });
    ws.on('error', () => {});
  });
}

describe('live view in the gateway', { timeout: 60_000 }, () => {
  it('takes the video section of the site file', () => {
    expect(gw.config.video).toEqual({ maxStreams: 2, maxWidth: 960, bitrateKbps: 1000, ffmpegPath: 'ffmpeg' });
  });

  it('serves only console sessions, and only cameras', async () => {
    expect(await upgradeStatus('/console/video/live/gas-boiler-1')).toBe(401);
    const c = consoleClient(gw.http.url);
    expect((await c.login(CONSOLE_USER, CONSOLE_PASSWORD)).status).toBe(200);
    const cookie = c.cookie!;
    // Logged in: a gas detector is no camera.
    expect(await upgradeStatus('/console/video/live/gas-boiler-1', cookie)).toBe(404);
    expect(await upgradeStatus('/video/live/no-such-camera', cookie)).toBe(404);
    expect((await c.call('POST', '/logout')).status).toBe(204);
    expect(await upgradeStatus('/console/video/live/gas-boiler-1', cookie)).toBe(401);

    const metrics = await (await fetch(`${gw.http.url}/metrics`)).text();
    expect(metrics).toMatch(/^gateway_video_refused_total\{reason="no-login"\} 2$/m);
    expect(metrics).toMatch(/^gateway_video_refused_total\{reason="unknown-camera"\} 2$/m);
    expect(metrics).toMatch(/^gateway_video_streams 0$/m);
  });

  it('leaves the alarm feed on the same server alone', async () => {
    const feed = await feedClient(gw.http.url);
    expect(feed.ws.readyState).toBe(WebSocket.OPEN);
    feed.close();
  });
});
