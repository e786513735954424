/**
 * What a ChirpStack v4 network server publishes through its MQTT integration (JSON encoding):
 * the topic and body of `up`, `join` and `status` events. Like ChirpStack, fields holding their
 * default value (fCnt 0) are left out.
 */
import { randomUUID } from 'node:crypto';

export interface DeviceIdentity {
  devEui: string;
  name: string;
  applicationId: string;
  profile: string;
}

export interface Radio {
  gatewayId: string;
  rssi: number;
  snr: number;
}

export const topicOf = (d: DeviceIdentity, event: 'up' | 'join' | 'status') =>
  `application/${d.applicationId}/device/${d.devEui}/event/${event}`;

function deviceInfo(d: DeviceIdentity) {
  return {
    tenantId: '52f14cd4-c6f1-4fbd-8f87-4025e1d49242',
    tenantName: 'compound',
    applicationId: d.applicationId,
    applicationName: 'compound-safety',
    deviceProfileId: '0f1d6fd4-8f1c-4d0c-b8a7-6f6cc2d0e5c1',
    deviceProfileName: d.profile,
    deviceName: d.name,
    devEui: d.devEui,
    tags: {},
  };
}

export function upEvent(
  d: DeviceIdentity,
  f: { fCnt: number; fPort: number; data: Buffer; time: Date; radios: Radio[] },
): Record<string, unknown> {
  return {
    deduplicationId: randomUUID(),
    time: f.time.toISOString(),
    deviceInfo: deviceInfo(d),
    devAddr: `01${d.devEui.slice(-6)}`,
    adr: true,
    dr: 5,
    ...(f.fCnt !== 0 ? { fCnt: f.fCnt } : {}),
    fPort: f.fPort,
    confirmed: false,
    data: f.data.toString('base64'),
    rxInfo: f.radios.map((r) => ({
      gatewayId: r.gatewayId,
      uplinkId: Math.floor(Math.random() * 65536),
      gwTime: f.time.toISOString(),
      rssi: r.rssi,
      snr: r.snr,
      channel: 2,
      context: 'AAAAAA==',
      crcStatus: 'CRC_OK',
    })),
    txInfo: {
      frequency: 486_300_000,
      modulation: { lora: { bandwidth: 125_000, spreadingFactor: 7, codeRate: 'CR_4_5' } },
    },
  };
}

export function joinEvent(d: DeviceIdentity, time: Date): Record<string, unknown> {
  return { deduplicationId: randomUUID(), time: time.toISOString(), deviceInfo: deviceInfo(d), devAddr: `01${d.devEui.slice(-6)}` };
}

export function statusEvent(d: DeviceIdentity, time: Date, battery: number): Record<string, unknown> {
  return {
    deduplicationId: randomUUID(),
    time: time.toISOString(),
    deviceInfo: deviceInfo(d),
    margin: 7,
    batteryLevel: battery,
  };
}
