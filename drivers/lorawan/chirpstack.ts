/**
 * ChirpStack v4 MQTT integration events, JSON encoding (`[integration.mqtt] json=true`): the
 * network server publishes each device event on
 * `application/<applicationId>/device/<devEui>/event/<event>`. This module parses the three
 * events the LoRaWAN families use: `up` (an uplink: base64 `data`, `fPort`, `fCnt`, `rxInfo`),
 * `join` (the device (re)joined: its frame counter starts again) and `status` (the device's
 * answer to DevStatusReq: battery level and link margin).
 *
 * ChirpStack omits fields holding their default value (protobuf JSON), so `fCnt`, `fPort`,
 * `data` and `rxInfo` may be missing: they read as 0, 0, empty and none.
 */
import { z } from 'zod';

/** A DevEUI: 16 hex digits (EUI-64), compared in lower case as ChirpStack writes it. */
export const DevEui = z
  .string()
  .regex(/^[0-9a-fA-F]{16}$/, 'a DevEUI is 16 hex digits (EUI-64), e.g. 70b3d57ed0001234')
  .transform((s) => s.toLowerCase());

/** The topic of a device event: application id, DevEUI, event name. */
export const EVENT_TOPIC = /^application\/([^/]+)\/device\/([^/]+)\/event\/([^/]+)$/;

/** The topic filters of one event name for an application (`+`: every application). */
export const eventFilter = (applicationId: string, event: 'up' | 'join' | 'status'): string =>
  `application/${applicationId}/device/+/event/${event}`;

const DeviceInfo = z.looseObject({
  devEui: DevEui,
  deviceName: z.string().optional(),
  applicationId: z.string().optional(),
});

const RxInfo = z.looseObject({
  gatewayId: z.string().optional(),
  rssi: z.number().optional(),
  snr: z.number().optional(),
});

const Time = z.iso.datetime({ offset: true }).optional();
const Base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'base64');

const UpEvent = z.looseObject({
  deviceInfo: DeviceInfo,
  time: Time,
  fCnt: z.number().int().min(0).max(0xffff_ffff).default(0),
  fPort: z.number().int().min(0).max(255).default(0),
  data: Base64.default(''),
  rxInfo: z.array(RxInfo).default([]),
});

const JoinEvent = z.looseObject({ deviceInfo: DeviceInfo, time: Time, devAddr: z.string().optional() });

const StatusEvent = z.looseObject({
  deviceInfo: DeviceInfo,
  time: Time,
  margin: z.number().optional(),
  batteryLevel: z.number().min(0).max(100).optional(),
  batteryLevelUnavailable: z.boolean().optional(),
  externalPowerSource: z.boolean().optional(),
});

export interface Uplink {
  type: 'up';
  devEui: string;
  applicationId: string;
  fCnt: number;
  fPort: number;
  bytes: Buffer;
  /** Radio metadata of the best gateway (highest RSSI), and how many gateways heard the frame. */
  rssi?: number;
  snr?: number;
  gatewayId?: string;
  gateways: number;
  time?: Date;
}
export interface Join {
  type: 'join';
  devEui: string;
  applicationId: string;
  time?: Date;
}
export interface Status {
  type: 'status';
  devEui: string;
  applicationId: string;
  /** Percent; absent when the device cannot measure it or runs on external power. */
  battery?: number;
  margin?: number;
  time?: Date;
}
export type LorawanMessage = Uplink | Join | Status;

export type Parsed = { ok: true; msg: LorawanMessage } | { ok: false; why: string };

const issues = (e: z.ZodError) => e.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');

/** Parses one message of the MQTT integration; `why` says what is wrong with a message that is not one. */
export function parseEvent(topic: string, payload: Buffer): Parsed {
  const t = EVENT_TOPIC.exec(topic);
  if (!t) return { ok: false, why: `topic ${topic} is not application/<app>/device/<devEui>/event/<event>` };
  const [, applicationId = '', topicEui = '', event] = t;
  let json: unknown;
  try {
    json = JSON.parse(payload.toString('utf8'));
  } catch {
    return { ok: false, why: `${event} event is not JSON (enable json=true in ChirpStack's [integration.mqtt])` };
  }
  const schema = event === 'up' ? UpEvent : event === 'join' ? JoinEvent : event === 'status' ? StatusEvent : undefined;
  if (!schema) return { ok: false, why: `event "${event}" is not one of up, join, status` };
  const r = schema.safeParse(json);
  if (!r.success) return { ok: false, why: `${event} event: ${issues(r.error)}` };
  const devEui = r.data.deviceInfo.devEui;
  if (devEui !== topicEui.toLowerCase()) {
    return { ok: false, why: `deviceInfo.devEui ${devEui} differs from the topic's ${topicEui}` };
  }
  const time = r.data.time ? new Date(r.data.time) : undefined;
  const base = { devEui, applicationId, ...(time ? { time } : {}) };
  if (event === 'join') return { ok: true, msg: { type: 'join', ...base } };
  if (event === 'status') {
    const s = r.data as z.infer<typeof StatusEvent>;
    const known = s.batteryLevel !== undefined && !s.batteryLevelUnavailable && !s.externalPowerSource;
    return {
      ok: true,
      msg: {
        type: 'status',
        ...base,
        ...(known ? { battery: s.batteryLevel } : {}),
        ...(s.margin !== undefined ? { margin: s.margin } : {}),
      },
    };
  }
  const u = r.data as z.infer<typeof UpEvent>;
  const best = u.rxInfo.reduce<z.infer<typeof RxInfo> | undefined>(
    (a, b) => (a === undefined || (b.rssi ?? -Infinity) > (a.rssi ?? -Infinity) ? b : a),
    undefined,
  );
  return {
    ok: true,
    msg: {
      type: 'up',
      ...base,
      fCnt: u.fCnt,
      fPort: u.fPort,
      bytes: Buffer.from(u.data, 'base64'),
      gateways: u.rxInfo.length,
      ...(best?.rssi !== undefined ? { rssi: best.rssi } : {}),
      ...(best?.snr !== undefined ? { snr: best.snr } : {}),
      ...(best?.gatewayId !== undefined ? { gatewayId: best.gatewayId } : {}),
    },
  };
}
