/**
 * Site-file schema of the ev-charger family: the gateway is the OCPP 1.6J central system of
 * the compound's charging piles. Each charge point connects to
 * `ws://<listen>/ocpp/<device id>` (`wss://` with `listen.tls`) with subprotocol `ocpp1.6` and
 * HTTP Basic authentication (user = the charge point id, password checked against its hash):
 * OCPP 1.6 security profile 1, or profile 2 over TLS.
 */
import { z } from 'zod';
import { DeviceBase, DriverBase, ListenConfig, parsePasswordHash } from '../../gateway/devices/driver-api.js';

/** OCPP 1.6 IdToken: CiString20Type. */
export const IdTag = z.string().min(1).max(20);

export const EvChargerDevice = z.strictObject({
  ...DeviceBase.shape,
  /** Hash of the charge point's Basic-auth password (`gateway hash-password`), like broker accounts. */
  passwordHash: z.string().refine((s) => isPasswordHash(s), {
    message: 'not a password hash in the form scrypt$<N>$<r>$<p>$<salt>$<hash>: create it with `gateway hash-password`',
  }),
  /** Number of connectors (OCPP connectorId 1..n). */
  connectors: z.number().int().min(1).max(16).default(1),
});
export type EvChargerDevice = z.infer<typeof EvChargerDevice>;

export const EvChargerConfig = z.strictObject({
  ...DriverBase.shape,
  family: z.literal('ev-charger'),
  ...ListenConfig,
  /** Heartbeat interval the central system gives each charge point in BootNotification.conf. */
  heartbeatIntervalS: z.number().int().min(10).max(86_400).default(60),
  /**
   * idTags accepted by Authorize and StartTransaction (residents' RFID cards, the app's tags).
   * Absent: every idTag is accepted (the piles are on the compound's own network).
   */
  idTags: z.array(IdTag).optional(),
  /** How long a remote start waits for the charge point's StartTransaction (OCPP ConnectionTimeOut). */
  remoteStartTimeoutMs: z.number().int().min(1000).default(60_000),
  devices: z.array(EvChargerDevice).min(1),
}).transform((cfg) => ({ ...cfg, livenessTimeoutMs: cfg.livenessTimeoutMs ?? livenessOf(cfg.heartbeatIntervalS) }));
export type EvChargerConfig = z.infer<typeof EvChargerConfig>;

/**
 * Every charge point of the instance is given `heartbeatIntervalS` in BootNotification.conf, so
 * the host's liveness timeout of the instance follows it: two heartbeats and a half missed is
 * offline (any message counts as a heartbeat). `livenessTimeoutMs` in the site file overrides it.
 */
export const livenessOf = (heartbeatIntervalS: number): number => Math.round(2.5 * heartbeatIntervalS * 1000);

function isPasswordHash(s: string): boolean {
  try {
    parsePasswordHash(s);
    return true;
  } catch {
    return false;
  }
}
