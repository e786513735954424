/** Starts the staff console on the ops HTTP server: sessions, the audit trail, the app and its API. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type Database from 'better-sqlite3';
import { LoginGuard } from '../auth/login-guard.js';
import type { Logger } from '../core/logger.js';
import { parseDuration } from '../core/time.js';
import { type ConsoleAccount, ConsoleLogin } from '../http/http-auth.js';
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
  o.mount(CONSOLE_PREFIX, (req, res) => app.handle(req, res));
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
    /** Resolves once the UI bundle is ready (built at start when running from source). */
    ready: assets.then(() => undefined),
  };
}
