/**
 * Site-file schema of an onvif-camera driver instance: its cameras (address, account read from
 * files, PTZ presets by name, what each camera watches and the preset to turn to for it) and
 * extra event topics.
 */
import { z } from 'zod';
import { DeviceBase, DriverBase, PollConfig, Watches } from '../../gateway/devices/driver-api.js';
import { NightMotion } from './night.js';
import { TopicMapping } from './topics.js';

/**
 * What the camera has in view (read by the platform as `Watches`: an alarm on one of these
 * devices or zones reaches the camera), and the preset to turn to for them: `preset` for all,
 * `presetFor` for some (a device id, `B1` or `B1/lobby` → preset name).
 */
export const CameraWatches = z.strictObject({
  ...Watches.shape,
  preset: z.string().min(1).optional().describe('preset name (from presets) for everything in view'),
  presetFor: z
    .record(z.string().min(1), z.string().min(1))
    .default({})
    .describe('a different preset for some watched devices or zones: device id, B1 or B1/lobby → preset name'),
});
export type CameraWatches = z.infer<typeof CameraWatches>;

export const CameraDevice = z
  .strictObject({
    ...DeviceBase.shape,
    /** The camera's address (IP or host name). */
    host: z.string().min(1),
    port: z.number().int().min(1).max(65_535).default(80),
    /** Path of the ONVIF device service. */
    path: z.string().startsWith('/').default('/onvif/device_service'),
    username: z.string().min(1).optional().describe('the ONVIF account (or usernameFile)'),
    usernameFile: z.string().min(1).optional().describe('file whose first line is the ONVIF user name'),
    passwordFile: z.string().min(1).describe('file whose first line is the password, readable by the gateway only (never the password itself)'),
    /** PTZ presets by name: name → the camera's preset token (GetPresets lists them). */
    presets: z
      .record(z.string().min(1), z.union([z.string().min(1), z.number().int().nonnegative()]).transform(String))
      .default({}),
    watches: CameraWatches.optional(),
    /** Motion in this local-time window (and, with `zones`, in these rules or zones) is also reported as camera.motion.night. */
    nightMotion: NightMotion.optional(),
  })
  .superRefine((d, ctx) => {
    if ((d.username === undefined) === (d.usernameFile === undefined))
      ctx.addIssue({ code: 'custom', path: ['username'], message: 'give either username or usernameFile (one of them)' });
    const known = Object.keys(d.presets);
    const check = (name: string, path: (string | number)[]) => {
      if (!(name in d.presets))
        ctx.addIssue({
          code: 'custom',
          path,
          message: `no preset "${name}" in presets (${known.length ? known.join(', ') : 'none defined'}): add it to presets as ${name}: <token>`,
        });
    };
    const w = d.watches;
    if (!w) return;
    if (w.preset !== undefined) check(w.preset, ['watches', 'preset']);
    for (const [key, name] of Object.entries(w.presetFor)) check(name, ['watches', 'presetFor', key]);
  });
export type CameraDevice = z.infer<typeof CameraDevice>;

export const OnvifCameraConfig = z.strictObject({
  ...DriverBase.shape,
  family: z.literal('onvif-camera'),
  ...PollConfig,
  /** How often the gateway checks each camera (GetDeviceInformation); events come in between by PullPoint. */
  pollIntervalMs: z.number().int().min(1000).default(30_000),
  /** Time for one request to a camera (a camera that does not answer in it is offline). */
  requestTimeoutMs: z.number().int().min(200).default(5000),
  /** After GotoPreset, how long the camera may move before the linkage snapshot (camera.link). */
  presetSettleMs: z.number().int().min(0).max(3000).default(1000),
  /** Event topics of other models or firmware: each adds a topic or replaces the built-in one. */
  topics: z.array(TopicMapping).default([]),
  devices: z.array(CameraDevice).min(1),
});
export type OnvifCameraConfig = z.infer<typeof OnvifCameraConfig>;
