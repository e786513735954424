/**
 * Smoke detector models, as data: each names its payload codec (a `decodeUplink` file in
 * `codecs/`), its heartbeat interval and the table from the codec's output to the family's
 * events. A site adds a model under `models:` in the driver's entry, with a vendor's codec file.
 */
import { LorawanModel, type LorawanModelInput, shippedCodec } from '../lorawan/index.js';

const GENERIC_SMOKE: LorawanModelInput = {
  description: 'Generic LoRaWAN smoke detector: event frames on fPort 10, heartbeat every hour',
  codec: shippedCodec(import.meta.url, 'smoke-detector', 'generic-smoke.js'),
  heartbeatIntervalS: 3600,
  events: [
    { event: 'smoke.alarm', when: { event: 'alarm' }, data: { battery: 'battery' } },
    { event: 'smoke.alarm.cleared', when: { event: 'alarm-cleared' } },
    { event: 'smoke.silenced', when: { event: 'silenced' } },
    { event: 'smoke.test', when: { event: 'test' } },
    { event: 'smoke.fault', when: { event: 'fault' }, data: { code: 'faultCode', reason: 'faultName' } },
    { event: 'device.tamper', when: { event: 'tamper' } },
    { event: 'device.heartbeat', when: { event: 'heartbeat' }, data: { battery: 'battery', rssi: '$rssi', snr: '$snr' } },
    // Every frame carries the flag: reported once when it comes on.
    { event: 'device.battery-low', when: { batteryLow: true }, data: { percent: 'battery' }, onChange: true },
  ],
};

export const SMOKE_MODELS = {
  'generic-smoke': LorawanModel.parse(GENERIC_SMOKE),
};
export const DEFAULT_SMOKE_MODEL = 'generic-smoke';
