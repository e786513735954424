/**
 * Test site for the staff console: a gas detector (Modbus TCP) and an emergency button (LoRaWAN
 * through the embedded broker), both served by the compound simulator, and two console accounts:
 * duty staff (reader) and a manager (admin).
 */
import { join } from 'node:path';
import { validateConfig } from '../../../config/load.js';
import type { SiteConfig } from '../../../config/schema.js';
import { hashPassword } from '../../auth/password.js';
import { freePort } from '../../core/free-port.js';
import { tempDir } from '../../e2e/testing/harness.js';

export const READER = { username: 'duty1', password: 'duty-pass' };
export const ADMIN = { username: 'boss', password: 'boss-pass' };
const NETWORK_SERVER_PASSWORD = 'chirpstack-demo';

export async function consoleSite(): Promise<SiteConfig> {
  const r = validateConfig({
    site: { id: 'console-site' },
    gateway: { id: 'gw-01' },
    log: { level: 'warn' },
    broker: {
      listeners: [{ type: 'tcp', host: '127.0.0.1', port: await freePort() }],
      accounts: [
        { username: READER.username, role: 'reader', passwordHash: hashPassword(READER.password) },
        { username: ADMIN.username, role: 'admin', passwordHash: hashPassword(ADMIN.password) },
        { username: 'chirpstack', role: 'device', publish: ['application/#'], passwordHash: hashPassword(NETWORK_SERVER_PASSWORD) },
      ],
    },
    journal: { path: join(tempDir('console-'), 'gw.db'), synchronous: 'NORMAL' },
    http: { host: '127.0.0.1', port: 0 },
    drivers: [
      {
        family: 'gas-detector',
        id: 'gas-line',
        transport: { type: 'tcp', host: '127.0.0.1', port: await freePort() },
        pollIntervalMs: 100,
        timeoutMs: 500,
        devices: [{ id: 'gas-b1-101', unitId: 1, building: 'B1', zone: 'kitchen-101', tags: ['kitchen', 'valve'] }],
      },
      {
        family: 'alarm-button',
        id: 'lora-sos',
        account: 'chirpstack',
        applicationId: '8c3f1e52-7d4b-4b8e-a0c6-2e9d5f1a4c22',
        devices: [{ id: 'sos-b3-lobby', devEui: '70b3d57ed0003101', building: 'B3', zone: 'lobby' }],
      },
    ],
  });
  if (!r.ok) throw new Error(`bad console test site: ${JSON.stringify(r.problems)}`);
  return r.config;
}
