/** The LoRaWAN stack shared by the LoRaWAN families (ChirpStack v4 MQTT integration). */
export { DevEui, EVENT_TOPIC, eventFilter, type LorawanMessage, parseEvent, type Uplink } from './chirpstack.js';
export { Codec, type CodecInput, type CodecOutput, type DecodeResult } from './codec-runner.js';
export { checkLorawanConfig, LorawanDeviceFields, LorawanInstanceFields, shippedCodec } from './config.js';
export { FrameCounters, type FrameVerdict } from './frame-counter.js';
export { Heartbeats } from './heartbeats.js';
export { type LorawanConfig, type LorawanDevice, LorawanDriver, type LorawanFamily } from './lorawan-driver.js';
export { EventMapping, LorawanModel, type LorawanModelInput, mapEvents, ModelName } from './model.js';
