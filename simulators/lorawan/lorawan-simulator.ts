/**
 * LoRaWAN smoke detectors and SOS buttons as a ChirpStack v4 network server would report them:
 * MQTT JSON events on `application/<app>/device/<devEui>/event/...` with real binary payloads,
 * frame counters, radio metadata, and a heartbeat per device on a schedule. Faults on demand:
 * the same uplink twice (heard by two gateways), frames out of order, a garbage payload, a
 * rejoin (counter back to 0), and silence.
 */
import { randomBytes } from 'node:crypto';
import { connect, type MqttClient } from 'mqtt';
import { z } from 'zod';
import { type DeviceIdentity, joinEvent, type Radio, statusEvent, topicOf, upEvent } from './chirpstack-json.js';
import {
  BUTTON_FPORT,
  type ButtonFrame,
  buttonFrame,
  SMOKE_FPORT,
  type SmokeFrame,
  smokeFrame,
} from './frames.js';

/**
 * A garbage payload: random bytes after a frame type (0xff) neither device sends, so it is never a
 * valid frame by chance (4 of 256 random first bytes would be one of the button's frame types).
 */
function garbage(): Buffer {
  const bytes = randomBytes(5);
  bytes[0] = 0xff;
  return bytes;
}

export interface SimDeviceConfig {
  id: string;
  devEui: string;
  kind: 'smoke' | 'button';
  heartbeatIntervalS: number;
}

export interface LorawanSimOptions {
  /** The broker the network server publishes to (the embedded one in the demo). */
  url: string;
  username?: string;
  password?: string;
  clientId?: string;
  applicationId: string;
  devices: SimDeviceConfig[];
  /** Send heartbeats on each device's schedule (default true); tests send them by hand. */
  heartbeats?: boolean;
}

const Common = {
  battery: z.number().int().min(0).max(100).optional(),
  heartbeat: z.literal(true).optional(),
  status: z.literal(true).optional(),
  garbage: z.literal(true).optional(),
  duplicate: z.literal(true).optional(),
  outOfOrder: z.literal(true).optional(),
  join: z.literal(true).optional(),
  silent: z.boolean().optional(),
};
export const SmokeChange = z.strictObject({
  ...Common,
  alarm: z.boolean().optional(),
  hush: z.literal(true).optional(),
  test: z.literal(true).optional(),
  fault: z.number().int().min(0).max(255).optional(),
  tamper: z.literal(true).optional(),
});
export const ButtonChange = z.strictObject({
  ...Common,
  press: z.literal(true).optional(),
  longPress: z.literal(true).optional(),
  cancel: z.literal(true).optional(),
});

interface Sim {
  config: SimDeviceConfig;
  identity: DeviceIdentity;
  /** The counter of the next uplink. */
  fCnt: number;
  battery: number;
  smoke: boolean;
  tamper: boolean;
  faultCode: number;
  presses: number;
  silent: boolean;
  uplinks: number;
  last?: { topic: string; body: Record<string, unknown> };
  timer?: NodeJS.Timeout;
}

const GATEWAYS: Radio[] = [
  { gatewayId: '0016c001ff10a235', rssi: -87, snr: 8.5 },
  { gatewayId: '0016c001ff10b4e1', rssi: -104, snr: -2.25 },
];

export class LorawanSimulator {
  readonly client: MqttClient;
  private readonly sims = new Map<string, Sim>();

  constructor(private readonly o: LorawanSimOptions) {
    for (const config of o.devices) {
      this.sims.set(config.id, {
        config,
        identity: {
          devEui: config.devEui.toLowerCase(),
          name: config.id,
          applicationId: o.applicationId,
          profile: config.kind === 'smoke' ? 'generic-smoke' : 'generic-sos-button',
        },
        fCnt: 0,
        battery: 95,
        smoke: false,
        tamper: false,
        faultCode: 0,
        presses: 0,
        silent: false,
        uplinks: 0,
      });
    }
    // Keeps reconnecting: in the demo the gateway's broker starts after the simulators.
    this.client = connect(o.url, {
      protocolVersion: 4,
      clientId: o.clientId ?? `${o.username ?? 'lorawan-sim'}:${randomBytes(4).toString('hex')}`,
      reconnectPeriod: 1000,
      ...(o.username !== undefined ? { username: o.username } : {}),
      ...(o.password !== undefined ? { password: o.password } : {}),
    });
    this.client.on('error', () => {}); // reconnects by itself; the state shows `connected`
    if (o.heartbeats ?? true) {
      this.client.once('connect', () => {
        for (const sim of this.sims.values()) {
          void this.heartbeat(sim).catch(() => {});
          sim.timer = setInterval(() => void this.heartbeat(sim).catch(() => {}), sim.config.heartbeatIntervalS * 1000);
          sim.timer.unref();
        }
      });
    }
  }

  /** Resolves once connected to the broker. */
  connected(): Promise<void> {
    if (this.client.connected) return Promise.resolve();
    return new Promise((resolve) => this.client.once('connect', () => resolve()));
  }

  ids(): string[] {
    return [...this.sims.keys()];
  }

  state(id: string): Record<string, unknown> {
    const s = this.sim(id);
    return {
      devEui: s.identity.devEui,
      kind: s.config.kind,
      connected: this.client.connected,
      nextFCnt: s.fCnt,
      uplinks: s.uplinks,
      battery: s.battery,
      silent: s.silent,
      ...(s.config.kind === 'smoke' ? { smoke: s.smoke, tamper: s.tamper, faultCode: s.faultCode } : { presses: s.presses }),
    };
  }

  /** Applies a control change; throws a zod error on a bad one. */
  async apply(id: string, body: unknown): Promise<void> {
    const s = this.sim(id);
    const c = s.config.kind === 'smoke' ? SmokeChange.parse(body) : ButtonChange.parse(body);
    if (c.silent !== undefined) s.silent = c.silent;
    if (c.join) await this.join(s);
    if (c.battery !== undefined) {
      s.battery = c.battery;
      await this.heartbeat(s);
    }
    if (c.heartbeat) await this.heartbeat(s);
    if (c.status) await this.publish(s, topicOf(s.identity, 'status'), statusEvent(s.identity, new Date(), s.battery));
    // Each kind handles its own change fields (alarm, hush, test, fault, tamper / press, longPress, cancel).
    if (s.config.kind === 'smoke') await this.smokeChange(s, c as z.infer<typeof SmokeChange>);
    else await this.buttonChange(s, c as z.infer<typeof ButtonChange>);
    if (c.garbage) await this.uplink(s, garbage(), s.config.kind === 'smoke' ? SMOKE_FPORT : BUTTON_FPORT);
    if (c.duplicate) await this.duplicate(s);
    if (c.outOfOrder) await this.outOfOrder(s);
  }

  async close(): Promise<void> {
    for (const s of this.sims.values()) clearInterval(s.timer);
    await this.client.endAsync(true);
  }

  private sim(id: string): Sim {
    const s = this.sims.get(id);
    if (!s) throw new Error(`no simulated LoRaWAN device "${id}"`);
    return s;
  }

  private async smokeChange(s: Sim, c: z.infer<typeof SmokeChange>): Promise<void> {
    if (c.alarm !== undefined) {
      s.smoke = c.alarm;
      await this.smoke(s, c.alarm ? 'alarm' : 'alarm-cleared');
    }
    if (c.hush) await this.smoke(s, 'silenced');
    if (c.test) await this.smoke(s, 'test');
    if (c.fault !== undefined) {
      s.faultCode = c.fault;
      await this.smoke(s, c.fault ? 'fault' : 'heartbeat');
    }
    if (c.tamper) {
      s.tamper = true;
      await this.smoke(s, 'tamper');
    }
  }

  private async buttonChange(s: Sim, c: z.infer<typeof ButtonChange>): Promise<void> {
    if (c.press) await this.button(s, 'press');
    if (c.longPress) await this.button(s, 'long-press');
    if (c.cancel) await this.button(s, 'cancel');
  }

  private heartbeat(s: Sim): Promise<void> {
    return s.config.kind === 'smoke' ? this.smoke(s, 'heartbeat') : this.button(s, 'heartbeat');
  }

  private smoke(s: Sim, type: SmokeFrame): Promise<void> {
    return this.uplink(s, smokeFrame(type, { ...s, temperature: 24 }), SMOKE_FPORT);
  }

  private button(s: Sim, type: ButtonFrame): Promise<void> {
    if (type !== 'heartbeat') s.presses++;
    return this.uplink(s, buttonFrame(type, s), BUTTON_FPORT);
  }

  private uplink(s: Sim, data: Buffer, fPort: number): Promise<void> {
    const body = upEvent(s.identity, { fCnt: s.fCnt++, fPort, data, time: new Date(), radios: [GATEWAYS[0]!] });
    return this.publish(s, topicOf(s.identity, 'up'), body);
  }

  /** The last uplink again, as heard by a second gateway. */
  private async duplicate(s: Sim): Promise<void> {
    if (!s.last) return;
    const rxInfo = [{ ...(s.last.body.rxInfo as object[])[0], ...GATEWAYS[1] }];
    await this.publish(s, s.last.topic, { ...s.last.body, rxInfo });
  }

  /** Two heartbeats, the later one delivered first. */
  private async outOfOrder(s: Sim): Promise<void> {
    const frame = () =>
      s.config.kind === 'smoke' ? smokeFrame('heartbeat', { ...s, temperature: 24 }) : buttonFrame('heartbeat', s);
    const port = s.config.kind === 'smoke' ? SMOKE_FPORT : BUTTON_FPORT;
    const first = upEvent(s.identity, { fCnt: s.fCnt++, fPort: port, data: frame(), time: new Date(), radios: [GATEWAYS[0]!] });
    const second = upEvent(s.identity, { fCnt: s.fCnt++, fPort: port, data: frame(), time: new Date(), radios: [GATEWAYS[0]!] });
    await this.publish(s, topicOf(s.identity, 'up'), second);
    await this.publish(s, topicOf(s.identity, 'up'), first);
  }

  /** The device joins again (OTAA): the network server reports the join, the counter starts at 0. */
  private async join(s: Sim): Promise<void> {
    s.fCnt = 0;
    await this.publish(s, topicOf(s.identity, 'join'), joinEvent(s.identity, new Date()));
  }

  private async publish(s: Sim, topic: string, body: Record<string, unknown>): Promise<void> {
    if (s.silent) return;
    if (topic.endsWith('/up')) {
      s.last = { topic, body };
      s.uplinks++;
    }
    await this.client.publishAsync(topic, JSON.stringify(body), { qos: 1 });
  }
}
