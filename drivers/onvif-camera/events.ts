/** Event types of the onvif-camera family, each with its lane and the shape of its data. */
import { z } from 'zod';
import type { EventSpec } from '../../gateway/devices/driver-api.js';

const On = { on: z.boolean() };

export const CAMERA_EVENTS = {
  'camera.motion': {
    kind: 'event',
    data: z.strictObject({ ...On, zone: z.string().optional() }),
    description: 'Motion started (on) or stopped in view; zone: the camera rule that saw it, when it says',
  },
  'camera.motion.night': {
    kind: 'event',
    data: z.strictObject({ zone: z.string().optional(), rule: z.string().optional() }),
    description:
      "Motion started in the camera's night window (nightMotion, site's local time), in one of its zones when it names them; rule/zone: the camera's names, when it says",
  },
  'camera.tamper': {
    kind: 'alarm',
    data: z.strictObject(On),
    description: 'The view was covered, turned or defocused (global scene change), or is back (on: false)',
  },
  'camera.video-loss': {
    kind: 'alarm',
    data: z.strictObject(On),
    description: 'The camera lost its video signal (on), or has it again',
  },
  'camera.line-crossed': {
    kind: 'event',
    data: z.strictObject({ rule: z.string().optional(), objectId: z.string().optional() }),
    description: 'An object crossed a line of a line-detector rule',
  },
  'camera.intrusion': {
    kind: 'event',
    data: z.strictObject({ ...On, zone: z.string().optional() }),
    description: 'Objects entered (on) or left a field-detector area (zone: its rule)',
  },
  'camera.snapshot': {
    kind: 'event',
    data: z.strictObject({ pictureRef: z.string().min(1) }),
    description: 'A snapshot was taken (command or alarm linkage); pictureRef names the stored JPEG',
    // A picture may show people: the site's privacy setting decides whether it reaches the city.
    personal: ['pictureRef'],
  },
} as const satisfies Readonly<Record<string, EventSpec>>;

export type CameraEventType = keyof typeof CAMERA_EVENTS;
