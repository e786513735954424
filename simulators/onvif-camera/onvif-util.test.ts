/**
 * Debian's onvif-util (onvif-tools, libonvif) logs in to the simulated camera, lists its profiles
 * and reads its RTSP URI; ffprobe then reads that stream over RTSP/TCP: an independent ONVIF
 * client accepts the simulator.
 *
 * onvif-util finds a camera only by a WS-Discovery Probe to 239.255.255.250:3702 sent with
 * IP_MULTICAST_LOOP off, and talks to port 80 of the address in the ProbeMatch. So the camera runs
 * in a network namespace of its own and onvif-util in another, joined by a veth pair
 * (10.231.<n>.2 camera, .1 client, multicast routed on the veth). No server listens on any shared
 * interface: the simulator's HTTP (80), WS-Discovery (3702) and RTSP ports exist only inside the
 * camera namespace. Both namespaces (and the veth with them) are deleted after the tests, also on
 * failure.
 *
 * Needs root (ip netns), /usr/sbin/ip (iproute2), /usr/bin/onvif-util (onvif-tools),
 * /usr/bin/ffmpeg and /usr/bin/ffprobe, and the RTSP server's python3-gi and GStreamer packages.
 */
import { type ChildProcessWithoutNullStreams, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../gateway/testing/wait-for.js';

const run = promisify(execFile);
const IP = '/usr/sbin/ip';
const ONVIF_UTIL = '/usr/bin/onvif-util';
const REPO = fileURLToPath(new URL('../../', import.meta.url));
const CAM_NS = `cg-cam-${process.pid}`;
const CLI_NS = `cg-cli-${process.pid}`;
const NET = `10.231.${(process.pid % 254) + 1}`;
const CAM_IP = `${NET}.2`;
const USER = 'admin';
const PASS = 'Util-2026';

let sim: ChildProcessWithoutNullStreams | undefined;
let simOut = '';

const ip = (...args: string[]) => run(IP, args, { timeout: 20_000 });

/** Runs `cmd` inside a namespace with `input` on its stdin; its stdout, whatever the exit code. */
function inNamespace(ns: string, cmd: string[], input = '', timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(IP, ['netns', 'exec', ns, ...cmd], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (b: Buffer) => (out += b.toString()));
    p.stderr.on('data', (b: Buffer) => (out += b.toString()));
    const t = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.once('error', reject);
    p.once('close', () => (clearTimeout(t), resolve(out)));
    p.stdin.end(input);
  });
}

function missing(): string[] {
  const gaps: string[] = [];
  if (process.getuid?.() !== 0) gaps.push('root (creating network namespaces with `ip netns add` needs it)');
  if (!existsSync(IP)) gaps.push(`${IP} (Debian iproute2)`);
  if (!existsSync(ONVIF_UTIL)) gaps.push(`${ONVIF_UTIL} (Debian onvif-tools)`);
  if (!existsSync('/usr/bin/ffprobe')) gaps.push('/usr/bin/ffprobe (Debian ffmpeg)');
  return gaps;
}

beforeAll(async () => {
  const gaps = missing();
  if (gaps.length) throw new Error(`the onvif-util test cannot run here: missing ${gaps.join('; ')}`);
  await Promise.allSettled([ip('netns', 'del', CAM_NS), ip('netns', 'del', CLI_NS)]); // left by a killed run with this pid
  const [vc, vl] = [`cgc${process.pid}`, `cgl${process.pid}`];
  await ip('netns', 'add', CAM_NS);
  await ip('netns', 'add', CLI_NS);
  await ip('link', 'add', vc, 'netns', CAM_NS, 'type', 'veth', 'peer', 'name', vl, 'netns', CLI_NS);
  const ends: [string, string, string][] = [[CAM_NS, vc, CAM_IP], [CLI_NS, vl, `${NET}.1`]];
  for (const [ns, dev, addr] of ends) {
    await ip('-n', ns, 'addr', 'add', `${addr}/24`, 'dev', dev);
    await ip('-n', ns, 'link', 'set', 'lo', 'up');
    await ip('-n', ns, 'link', 'set', dev, 'up');
    await ip('-n', ns, 'route', 'add', '224.0.0.0/4', 'dev', dev);
  }
  sim = spawn(
    IP,
    ['netns', 'exec', CAM_NS, process.execPath, '--import', 'tsx', 'simulators/onvif-camera/cli.ts',
      '--host', CAM_IP, '--port', '80', '--discovery-port', '3702', '--stream', '--user', USER, '--password', PASS],
    { cwd: REPO, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  sim.stdout.on('data', (b: Buffer) => (simOut += b.toString()));
  sim.stderr.on('data', (b: Buffer) => (simOut += b.toString()));
  await waitFor('the simulator to start in its namespace', () => {
    if (sim?.exitCode !== null) throw new Error(`the simulator exited (${sim?.exitCode}): ${simOut}`);
    return simOut.includes(`onvif camera at http://${CAM_IP}:80/`);
  }, { timeoutMs: 60_000 });
}, 120_000);

afterAll(async () => {
  try {
    const p = sim;
    if (p && p.exitCode === null && p.signalCode === null) {
      const exited = new Promise((resolve) => p.once('exit', resolve));
      p.kill('SIGTERM'); // the CLI closes the camera: the RTSP server and ffmpeg stop by pid
      const t = setTimeout(() => p.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    }
  } finally {
    await Promise.allSettled([ip('netns', 'del', CAM_NS), ip('netns', 'del', CLI_NS)]);
  }
}, 30_000);

describe('onvif-util (Debian onvif-tools) against the simulated camera', { timeout: 120_000 }, () => {
  let out = '';

  it('finds the camera by WS-Discovery and logs in: name, serial, profiles, RTSP URI', async () => {
    // Run again (the last output is what the assertions see) when its Probe, which waits 500 ms for
    // answers, missed a busy machine's answer, or when the camera refused a request as a replay:
    // libonvif keeps one Nonce for a session, so two of its requests with the same Created carry the
    // same token. A new run has a new nonce.
    let last = '';
    out = await waitFor('onvif-util to log in and get the RTSP URI', async () => {
      last = await inNamespace(CLI_NS, [ONVIF_UTIL, '-u', USER, '-p', PASS, CAM_IP], 'get profiles\nget rtsp\nquit\n');
      return last.includes('successfully connected to host') && /rtsp:\/\//.test(last) ? last : undefined;
    }, { timeoutMs: 90_000, everyMs: 1000 }).catch(() => last);
    expect(out).toContain(`found host: ${CAM_IP}`);
    expect(out).toMatch(/name:\s+Sim Camera SV-IPC-T1/); // WS-Discovery scopes name/ and hardware/
    expect(out).toMatch(/serial:\s+SV0001/); // GetDeviceInformation
    expect(out).toContain('Token 0: Profile_1'); // GetProfiles
    expect(out).toMatch(new RegExp(`rtsp://${CAM_IP.replace(/\./g, '\\.')}:\\d+/stream1`)); // GetProfile + GetStreamUri
    expect(out).not.toContain('ERROR');
  });

  it('gives an RTSP URI that ffprobe reads over TCP from the client namespace', async () => {
    const uri = /rtsp:\/\/[\d.]+:\d+\/stream1/.exec(out)?.[0];
    expect(uri).toBeDefined();
    const stream = await waitFor('ffprobe to read the stream over RTSP/TCP', async () => {
      const o = await inNamespace(CLI_NS, ['/usr/bin/ffprobe', '-v', 'error', '-rtsp_transport', 'tcp', '-show_entries', 'stream=codec_name,width,height', '-of', 'csv=p=0', uri!]);
      return /^h264,\d+,\d+$/m.exec(o)?.[0];
    }, { timeoutMs: 60_000, everyMs: 1000 });
    expect(stream).toBe('h264,640,360');
  });
});
