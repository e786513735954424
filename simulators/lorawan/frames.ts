/**
 * The binary uplink formats of the simulated devices, written from their specification
 * (the comments of the shipped codecs: drivers/smoke-detector/codecs/generic-smoke.js and
 * drivers/alarm-button/codecs/generic-sos-button.js), independently of those codecs, so that a
 * test decoding these frames checks one against the other.
 */

/** The generic smoke detector sends on fPort 10, the SOS button on 12. */
export const SMOKE_FPORT = 10;
export const BUTTON_FPORT = 12;

/** Battery at or below this is flagged low by the devices. */
export const LOW_BATTERY_PERCENT = 20;

export const SMOKE_FRAMES = {
  heartbeat: 0x01,
  alarm: 0x02,
  'alarm-cleared': 0x03,
  silenced: 0x04,
  test: 0x05,
  fault: 0x06,
  tamper: 0x07,
} as const;
export type SmokeFrame = keyof typeof SMOKE_FRAMES;

export interface SmokeState {
  battery: number;
  smoke: boolean;
  tamper: boolean;
  /** 0: no fault. */
  faultCode: number;
  temperature: number;
}

export function smokeFrame(type: SmokeFrame, s: SmokeState): Buffer {
  const flags =
    (s.smoke ? 0x01 : 0) | (s.battery <= LOW_BATTERY_PERCENT ? 0x02 : 0) | (s.tamper ? 0x04 : 0) | (s.faultCode ? 0x08 : 0);
  const head = [SMOKE_FRAMES[type], s.battery, flags];
  if (type === 'heartbeat') return Buffer.from([...head, s.temperature & 0xff]);
  if (type === 'fault') return Buffer.from([...head, s.faultCode]);
  return Buffer.from(head);
}

export const BUTTON_FRAMES = { heartbeat: 0x01, press: 0x10, 'long-press': 0x11, cancel: 0x12 } as const;
export type ButtonFrame = keyof typeof BUTTON_FRAMES;

export interface ButtonState {
  battery: number;
  /** Presses since the battery was fitted (the frame carries it modulo 256). */
  presses: number;
}

export function buttonFrame(type: ButtonFrame, s: ButtonState): Buffer {
  return Buffer.from([BUTTON_FRAMES[type], s.battery, s.battery <= LOW_BATTERY_PERCENT ? 0x01 : 0, s.presses & 0xff]);
}
