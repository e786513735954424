/** The onvif-camera family: ONVIF Profile S/T cameras (PullPoint events, PTZ presets, snapshots, alarm video linkage). */
import type { FamilyDefinition } from '../../gateway/devices/driver-api.js';
import { discoverCommand, DISCOVER_USAGE } from './discovery.js';
import { CAMERA_COMMANDS, type CameraCommands, OnvifCameraDriver } from './driver.js';
import { CAMERA_EVENTS } from './events.js';
import { CAMERA_RULES } from './rules.js';
import { OnvifCameraConfig } from './schema.js';

export { CAMERA_COMMANDS } from './driver.js';
export { CAMERA_EVENTS } from './events.js';
export { CAMERA_RULES } from './rules.js';
export { CameraDevice, CameraWatches, OnvifCameraConfig } from './schema.js';
export { BUILTIN_TOPICS, TopicMapping } from './topics.js';

export const onvifCamera: FamilyDefinition<OnvifCameraConfig, CameraCommands> = {
  family: 'onvif-camera',
  configSchema: OnvifCameraConfig,
  commands: CAMERA_COMMANDS,
  events: CAMERA_EVENTS,
  // Cameras record, they do not detect fire or gas: an offline camera is no life-safety alarm.
  lifeSafety: false,
  // Checked every 30 s and heard at each PullMessages (within a minute): three missed checks and it is offline.
  livenessTimeoutMs: 150_000,
  rules: CAMERA_RULES,
  // GB 50395: video linkage to an alarm within 4 s. The building goes with the zone so that
  // `presetFor` keys like B1/lobby resolve.
  alarmLinkage: {
    minSeverity: 'major',
    actions: [
      {
        command: 'camera.link',
        args: { device: '{device.id}', building: '{device.building}', zone: '{device.zone}' },
        target: { scope: 'watchers', devices: { family: 'onvif-camera' } },
        timeout: '4s',
      },
    ],
  },
  discover: { protocol: 'onvif', usage: DISCOVER_USAGE, run: discoverCommand },
  create: (config, ctx) => new OnvifCameraDriver(config, ctx),
};
