/**
 * Test helper: the staff console's app with the Devices and Events API over a real journal (SQLite
 * file) on 127.0.0.1, port 0; events are written to the journal as the pipeline writes them.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { hashPassword } from '../../auth/password.js';
import { LoginGuard } from '../../auth/login-guard.js';
import type { Alarm } from '../../core/alarm-types.js';
import { ENVELOPE_VERSION, type DeviceRef, type EventEnvelope, type EventKind, type Severity } from '../../core/envelope.js';
import { createLogger } from '../../core/logger.js';
import { tempDir } from '../../e2e/testing/harness.js';
import { ConsoleLogin } from '../../http/http-auth.js';
import { Journal } from '../../journal/journal.js';
import type { PrivacyConfig } from '../../uplink/privacy.js';
import { addDeviceRoutes } from '../api-devices.js';
import { addEventRoutes, redactorFor } from '../api-events.js';
import { ConsoleApp } from '../console-app.js';
import { ConsoleAssets } from '../console-assets.js';
import { ConsoleAudit } from '../console-audit.js';
import { ConsoleSessions } from '../sessions.js';

export const READER = { username: 'duty1', password: 'duty-pass' };
export const ADMIN = { username: 'boss', password: 'boss-pass' };

export interface EventSpec {
  device: string;
  type: string;
  kind?: EventKind;
  severity?: Severity;
  data?: Record<string, unknown>;
  /** Epoch ms (default: now). */
  at?: number;
}

export interface DevicesConsole {
  url: string;
  journal: Journal;
  /** The engine's active alarms (tests set them). */
  alarms: Alarm[];
  append(events: readonly EventSpec[]): EventEnvelope[];
  close(): Promise<void>;
}

export async function devicesConsole(o: {
  devices: DeviceRef[];
  config?: Record<string, object>;
  privacy?: PrivacyConfig;
  /** Serve the UI bundle too (browser tests). */
  ui?: boolean;
  csvMaxRows?: number;
}): Promise<DevicesConsole> {
  const journal = new Journal({
    path: join(tempDir('console-devices-'), 'gw.db'),
    synchronous: 'NORMAL',
    retention: { maxAgeDays: 30, maxSizeMB: 100 },
  });
  const alarms: Alarm[] = [];
  const devices = new Map(o.devices.map((d) => [d.id, d]));
  const app = new ConsoleApp({
    assets: o.ui ? ConsoleAssets.load() : new Promise(() => {}),
    sessions: new ConsoleSessions({ idleMs: 900_000, lifetimeMs: 43_200_000 }),
    audit: new ConsoleAudit(journal.db),
    logins: new ConsoleLogin(
      [
        { username: READER.username, role: 'reader', passwordHash: hashPassword(READER.password) },
        { username: ADMIN.username, role: 'admin', passwordHash: hashPassword(ADMIN.password) },
      ],
      new LoginGuard(),
    ),
    engine: {
      activeAlarms: () => alarms,
      get: (id) => alarms.find((a) => a.id === id),
      acknowledge: () => ({ ok: false, error: 'not in this test' }),
      resolve: () => ({ ok: false, error: 'not in this test' }),
    },
    idleTimeoutMs: 900_000,
    allowedOrigins: [],
    log: createLogger('silent'),
  });
  const redact = redactorFor(o.privacy);
  addEventRoutes(app.api, { db: journal.db, devices: () => devices, redact, csvMaxRows: o.csvMaxRows });
  addDeviceRoutes(app.api, {
    db: journal.db,
    devices: () => devices,
    deviceConfig: (id) => o.config?.[id],
    activeAlarms: () => alarms,
    redact,
  });
  const server: Server = createServer((req, res) => app.handle(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  let seq = journal.lastSeq();
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    journal,
    alarms,
    append(events) {
      const envs = events.map((e): EventEnvelope => {
        const device = devices.get(e.device) ?? { id: e.device, family: 'unknown', tags: [] };
        return {
          v: ENVELOPE_VERSION,
          id: crypto.randomUUID(),
          site: 'test-site',
          gateway: 'gw-01',
          seq: ++seq,
          device,
          type: e.type,
          kind: e.kind ?? 'event',
          severity: e.severity ?? 'info',
          deviceTime: null,
          receivedAt: new Date(e.at ?? Date.now()).toISOString(),
          data: e.data ?? {},
        };
      });
      journal.append(envs.map((env) => ({ env, json: JSON.stringify(env) })));
      return envs;
    },
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      journal.close();
    },
  };
}
