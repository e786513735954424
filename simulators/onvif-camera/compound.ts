/**
 * The onvif-camera part of the compound simulator: one simulated ONVIF camera per camera of the
 * driver whose host is on loopback, on the configured port, with the account of its entry (the
 * password from its passwordFile) and its presets. No RTSP stream by default (ffmpeg would cost
 * CPU all the time): `CAMERA_SIM_STREAM=1` in the environment runs each simulated camera with its
 * stream, for the gateway's live view. A camera on another address is real: not simulated.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { OnvifCameraConfig } from '../../drivers/onvif-camera/schema.js';
import type { Logger } from '../../gateway/core/logger.js';
import type { DriverConfig, FamilySimulator, SimulatedDevice } from '../../gateway/devices/driver-api.js';
import { OnvifCameraSimulator } from './camera.js';

const LOOPBACK = new Set(['127.0.0.1', 'localhost']);

export const CameraChange = z
  .strictObject({
    motion: z.boolean().optional(),
    tamper: z.boolean().optional(),
    videoLoss: z.boolean().optional(),
    /** An object crosses the line (its id). */
    line: z.number().int().min(0).optional(),
    /** Restart the camera, silent this long (ms). */
    reboot: z.number().int().min(0).max(60_000).optional(),
    /** Stop answering (a hung camera), or answer again. */
    hang: z.boolean().optional(),
  })
  .refine((c) => Object.keys(c).length > 0, { message: 'say what happens, e.g. {"motion": true}' });

/** Applies one change of the control API to a simulated camera. */
export function applyChange(sim: OnvifCameraSimulator, change: unknown): void {
  const c = CameraChange.parse(change);
  if (c.motion !== undefined) sim.setMotion(c.motion);
  if (c.tamper !== undefined) sim.setTamper(c.tamper);
  if (c.videoLoss !== undefined) sim.setVideoLoss(c.videoLoss);
  if (c.line !== undefined) sim.crossLine(c.line);
  if (c.hang !== undefined) sim.setHanging(c.hang);
  if (c.reboot !== undefined) void sim.reboot(c.reboot);
}

/** Whether the simulated cameras run their RTSP stream: `CAMERA_SIM_STREAM` is 1/true (on) or 0/false/unset (off). */
export function streamWanted(raw: string | undefined): boolean {
  const v = (raw ?? '').trim().toLowerCase();
  if (['1', 'true', 'on', 'yes'].includes(v)) return true;
  if (['', '0', 'false', 'off', 'no'].includes(v)) return false;
  throw new Error(`CAMERA_SIM_STREAM=${raw}: set it to 1 to run the simulated cameras' RTSP streams, or to 0 (or leave it unset) for none`);
}

const firstLine = (file: string) => readFileSync(file, 'utf8').split(/\r?\n/, 1)[0]!;

export const simulator: FamilySimulator = {
  changeHint: 'e.g. {"tamper": true}, {"motion": true}, {"videoLoss": true}, {"line": 7}, {"reboot": 3000}, {"hang": true}',
  async start(config: DriverConfig, log: Logger) {
    const cams = config as unknown as OnvifCameraConfig;
    const stream = streamWanted(process.env.CAMERA_SIM_STREAM);
    const sims: { id: string; sim: OnvifCameraSimulator }[] = [];
    try {
      for (const dev of cams.devices) {
        if (!LOOPBACK.has(dev.host)) {
          log.info({ driver: cams.id, device: dev.id }, 'not simulated: a real camera (not on loopback)');
          continue;
        }
        const sim = new OnvifCameraSimulator({
          host: '127.0.0.1',
          port: dev.port,
          username: dev.username ?? firstLine(dev.usernameFile!),
          password: firstLine(dev.passwordFile),
          identity: { name: dev.name ?? dev.id, location: [dev.building, dev.zone].filter(Boolean).join(' ') || 'compound' },
          presets: Object.entries(dev.presets).map(([name, token], i) => ({ token, name, pan: -0.5 + i * 0.25, tilt: 0, zoom: 0 })),
          stream,
          // WS-Discovery on the camera's port number (UDP), loopback only: `gateway discover onvif --target 127.0.0.1:<port>`.
          discoveryPort: dev.port,
          discoveryAddress: '127.0.0.1',
          // what the RTSP server, ffmpeg and the discovery socket say (errors and warnings, mostly)
          log: (line) => log.info({ driver: cams.id, device: dev.id }, line),
        });
        // pushed before it starts: a stream that fails to start is stopped with the rest
        sims.push({ id: dev.id, sim });
        await sim.start();
        if (stream) log.info({ driver: cams.id, device: dev.id, rtsp: sim.streamUri }, 'simulated camera stream');
      }
    } catch (err) {
      await Promise.all(sims.map((s) => s.sim.close()));
      throw err;
    }
    if (sims.length === 0) return undefined;
    log.info({ driver: cams.id, cameras: sims.length, stream }, 'ONVIF camera simulator');
    const devices = sims.map(
      ({ id, sim }): SimulatedDevice => ({
        id,
        family: 'onvif-camera',
        state: () => ({
          url: sim.deviceUrl,
          stream: sim.rtsp ? sim.streamUri : null,
          ...sim.state,
          currentPreset: sim.currentPreset ?? null,
          subscriptions: sim.subscriptions().length,
        }),
        apply: (change) => applyChange(sim, change),
      }),
    );
    return { devices, close: async () => void (await Promise.all(sims.map((s) => s.sim.close()))) };
  },
};
