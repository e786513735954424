export { OnvifCameraSimulator, type OnvifCameraOptions, type Malformation } from './camera.js';
export { CameraDiscovery, WS_DISCOVERY_GROUP, WS_DISCOVERY_PORT } from './discovery.js';
export { TOPICS, type CameraEvent } from './events.js';
export { RtspStream } from './media.js';
export { PATHS, PROFILE, VIDEO_SOURCE, type CameraIdentity, type PtzPreset } from './services.js';
