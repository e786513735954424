/** `gateway discover onvif`: the real CLI finds the simulated camera by a unicast WS-Discovery probe. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { OnvifCameraSimulator } from '../../simulators/onvif-camera/index.js';
import { CameraDevice } from './schema.js';

const run = promisify(execFile);
const cli = (...args: string[]) => run(process.execPath, ['--import', 'tsx', 'gateway/cli.ts', ...args], { encoding: 'utf8', timeout: 60_000 });
let sim: OnvifCameraSimulator;

beforeAll(async () => {
  sim = new OnvifCameraSimulator({ username: 'admin', password: 'x', discoveryPort: 0, identity: { name: 'Gate Cam', hardwareId: 'SV-IPC-T1' } });
  await sim.start();
});
afterAll(async () => {
  await sim?.close();
});

describe('gateway discover onvif', { timeout: 90_000 }, () => {
  it('prints the camera found as a site-file entry that parses', async () => {
    const { stdout } = await cli('discover', 'onvif', '--target', `127.0.0.1:${sim.discoveryPort}`, '--timeout', '1500ms');
    expect(stdout).toContain(`# 1 ONVIF camera(s) answered a probe to 127.0.0.1:${sim.discoveryPort}`);
    expect(stdout).toContain(`# SV-IPC-T1 "Gate Cam" at ${sim.deviceUrl}`);
    expect(stdout).toMatch(/# scopes: .*onvif:\/\/www\.onvif\.org\/Profile\/Streaming/);
    const port = Number(new URL(sim.url).port);
    expect(stdout).toContain(`- id: cam-gate-cam\n  name: "Gate Cam"\n  host: 127.0.0.1\n  port: ${port}\n`);
    // pasted under devices:, it is a valid device entry
    const [entry] = parse(stdout) as unknown[];
    expect(CameraDevice.parse(entry)).toMatchObject({ id: 'cam-gate-cam', host: '127.0.0.1', port, username: 'admin', watches: { zones: [] } });
  });

  it('says when nothing answers, and refuses bad usage with exit code 2', async () => {
    const { stdout } = await cli('discover', 'onvif', '--target', '127.0.0.1:9', '--timeout', '300ms');
    expect(stdout).toContain('# no ONVIF camera answered a probe to 127.0.0.1:9 within 300 ms');
    await expect(cli('discover', 'onvif', '--target', 'nowhere')).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('give host:port') });
    await expect(cli('discover', 'bacnet')).rejects.toMatchObject({ code: 2, stderr: expect.stringMatching(/give one of .*onvif/) });
  });
});
