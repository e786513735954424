/** Starts the staff console on the ops HTTP server: sessions, the audit trail, the app and its API. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import type Database from 'better-sqlite3';
import { LoginGuard } from '../auth/login-guard.js';
import type { Logger } from '../core/logger.js';
import { parseDuration } from '../core/time.js';
import { type ConsoleAccount, ConsoleLogin } from '../http/http-auth.js';
import type { Execute } from '../core/command-result.js';
import type { PrivacyConfig } from '../uplink/privacy.js';
import { addActionRoutes, type SiteDevice } from './api-actions.js';
import { addDeviceRoutes } from './api-devices.js';
import { addEventRoutes, type Redact, redactorFor } from './api-events.js';
import { addFileRoutes } from './api-files.js';
import { addOverviewRoutes } from './api-overview.js';
import { SitePlan } from './api-plan.js';
import { ConsoleApp, type ConsoleEngine, CONSOLE_PREFIX } from './console-app.js';
import { ConsoleAssets } from './console-assets.js';
import { ConsoleAudit } from './console-audit.js';
import { ConsoleSessions } from './sessions.js';

export interface StartConsoleOptions {
  mount?(prefix: string, handler: (req: IncomingMessage, res: ServerResponse) => void): void;
  db: Database.Database;
  engine: ConsoleEngine;
  accounts: readonly ConsoleAccount[];
  loginGuard?: LoginGuard;
  config?: {
    console?: { idleTimeout: string; maxLifetime: string };
    consoleFeed?: { allowedOrigins: readonly string[] };
  };
  log: Logger;
  /** Where a built bundle is looked for (default: dist/console next to the compiled gateway). */
  bundleDir?: string;
}

export type StaffConsole = ReturnType<typeof startConsole>;

/** What the console's site pages need of the gateway: its devices, its command path, the drivers' file store. */
export interface ConsoleSite {
  /** The inventory's devices (`inventory.birthDevices()`): place, tags and the commands each accepts. */
  devices: readonly SiteDevice[];
  /** The gateway's one command path (`drivers.execute`). */
  execute: Execute;
  /** The drivers' file store folder (camera snapshots, gate pictures). */
  filesDir: string;
  /** A device's config entry (`inventory.deviceConfig`): the Devices page shows its name and model. */
  deviceConfig?(id: string): object | undefined;
  /** The site's `privacy` (as the uplink's): what duty staff see of personal data in event history; masked if omitted. */
  privacy?: PrivacyConfig;
}

export function startConsole(o: StartConsoleOptions) {
  if (!o.mount) return undefined;
  const idleTimeoutMs = parseDuration(o.config?.console?.idleTimeout ?? '15m');
  const sessions = new ConsoleSessions({ idleMs: idleTimeoutMs, lifetimeMs: parseDuration(o.config?.console?.maxLifetime ?? '12h') });
  const audit = new ConsoleAudit(o.db);
  const assets = ConsoleAssets.load({ bundleDir: o.bundleDir });
  assets.catch((err: unknown) => o.log.error({ err: String(err) }, 'console UI bundle could not be built'));
  const app = new ConsoleApp({
    assets,
    sessions,
    audit,
    logins: new ConsoleLogin(o.accounts, o.loginGuard ?? new LoginGuard()),
    engine: o.engine,
    idleTimeoutMs,
    allowedOrigins: o.config?.consoleFeed?.allowedOrigins ?? [],
    log: o.log,
  });
  let site: { devices: readonly SiteDevice[]; plan: SitePlan; deviceConfig?: ConsoleSite['deviceConfig'] } | undefined;
  addOverviewRoutes({ api: app.api, db: o.db, activeAlarms: () => o.engine.activeAlarms(), devices: () => site?.devices });
  // Devices and Events pages: the attached site's devices, its privacy setting for duty staff.
  let redact: Redact | undefined = redactorFor();
  const devices = () => new Map((site?.devices ?? []).map((d) => [d.id, d]));
  const shield: Redact = (e) => redact?.(e);
  addEventRoutes(app.api, { db: o.db, devices, redact: shield });
  addDeviceRoutes(app.api, { db: o.db, devices, deviceConfig: (id) => site?.deviceConfig?.(id), activeAlarms: () => o.engine.activeAlarms(), redact: shield });
  const upload = { session: (req: IncomingMessage) => sessions.of(req), allowedOrigins: o.config?.consoleFeed?.allowedOrigins ?? [], record: audit.record.bind(audit) };
  o.mount(CONSOLE_PREFIX, (req, res) => {
    if (!site?.plan.upload(req, res, upload)) app.handle(req, res);
  });
  return {
    sessions,
    /** The session of a feed connection's cookie; an open feed keeps it from idling out. */
    feedSession(req: IncomingMessage) {
      const s = sessions.of(req);
      return s && { user: s.user, role: s.role, alive: () => sessions.touch(s.id) !== undefined };
    },
    /** The audit trail: every page records its actions here (`audit.record` or `ctx.audit` in a route). */
    audit,
    /** Pages add their API routes here. */
    api: app.api,
    /**
     * Adds the site pages' API (site plan, device actions, files): called once by the gateway
     * when its devices and command path are ready.
     */
    attach(s: ConsoleSite): void {
      if (site) throw new Error('the console is attached to its site once');
      const plan = new SitePlan({
        api: app.api,
        db: o.db,
        devices: s.devices,
        imageBase: join(dirname(o.db.name), 'console-plan'),
        activeAlarms: () => o.engine.activeAlarms(),
      });
      addActionRoutes({ api: app.api, devices: s.devices, execute: s.execute, alarm: (id) => o.engine.get(id) });
      addFileRoutes(app.api, s.filesDir);
      site = { devices: s.devices, plan, deviceConfig: s.deviceConfig };
      redact = redactorFor(s.privacy);
    },
    /** Resolves once the UI bundle is ready (built at start when running from source). */
    ready: assets.then(() => undefined),
  };
}
