/**
 * Emergency button models, as data: each names its payload codec (a `decodeUplink` file in
 * `codecs/`), its heartbeat interval and the table from the codec's output to the family's
 * events. A site adds a model under `models:` in the driver's entry, with a vendor's codec file.
 */
import { LorawanModel, type LorawanModelInput, shippedCodec } from '../lorawan/index.js';

const GENERIC_SOS: LorawanModelInput = {
  description: 'Generic LoRaWAN SOS button: frames on fPort 12, heartbeat every hour',
  codec: shippedCodec(import.meta.url, 'alarm-button', 'generic-sos-button.js'),
  heartbeatIntervalS: 3600,
  events: [
    { event: 'button.pressed', when: { event: 'press' }, data: { presses: 'presses' } },
    { event: 'button.long-press', when: { event: 'long-press' }, data: { presses: 'presses' } },
    { event: 'button.cancelled', when: { event: 'cancel' }, data: { presses: 'presses' } },
    { event: 'device.heartbeat', when: { event: 'heartbeat' }, data: { battery: 'battery', rssi: '$rssi', snr: '$snr' } },
    { event: 'device.battery-low', when: { batteryLow: true }, data: { percent: 'battery' }, onChange: true },
  ],
};

export const BUTTON_MODELS = {
  'generic-sos-button': LorawanModel.parse(GENERIC_SOS),
};
export const DEFAULT_BUTTON_MODEL = 'generic-sos-button';
