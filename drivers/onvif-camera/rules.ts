/**
 * Built-in alarm rules of the onvif-camera family, as data (GB 50395 video surveillance: a
 * covered or moved camera and a lost video signal must be seen by the duty staff). On by
 * default; a site switches one off with `alarms.disable` or replaces it with a rule of the same
 * id. A camera offline is not a life-safety alarm (the family is not life-safety).
 */
import type { RuleInput } from '../../gateway/devices/driver-api.js';

const place = '{device.id}（{device.building} {device.zone}）';
const cameras = { family: 'onvif-camera' };

export const CAMERA_RULES: readonly RuleInput[] = [
  {
    // A site may disable it (alarms.disable: [camera-night-motion]), or give a rule of this id
    // (another severity, a zone, a count) that replaces it.
    id: 'camera-night-motion',
    description: "Motion in a camera's night window (its nightMotion); a person resolves it.",
    severity: 'warning',
    message: `夜间移动侦测：${place}`,
    match: { type: 'camera.motion.night', devices: cameras },
    clear: 'manual',
  },
  {
    id: 'camera-tamper',
    description: 'A camera was covered, turned away or defocused; clears when its view is back.',
    severity: 'major',
    message: `摄像机遮挡/移位：${place}`,
    match: { type: 'camera.tamper', devices: cameras, where: { on: true } },
    clear: { type: 'camera.tamper', where: { on: false } },
  },
  {
    id: 'camera-video-loss',
    description: 'A camera lost its video signal; clears when the signal is back.',
    severity: 'major',
    message: `摄像机视频丢失：${place}`,
    match: { type: 'camera.video-loss', devices: cameras, where: { on: true } },
    clear: { type: 'camera.video-loss', where: { on: false } },
  },
];
