/** The `http` section of a site file: the ops server (health, metrics, duty console) and who may use it. */
import { z } from 'zod';
import { Duration } from '../core/time.js';

const Origin = z
  .string()
  .regex(
    /^https?:\/\/[^/\s?#]+$/i,
    'an origin: scheme://host[:port] with no path, e.g. https://console.example.org',
  );

export const ConsoleFeedConfig = z.strictObject({
  /**
   * Browser origins, besides the ops server's own, whose pages may open the live feed (e.g. a
   * console behind a TLS proxy that rewrites the Host header). Clients that send no Origin
   * (not browsers) are not affected.
   */
  allowedOrigins: z.array(Origin).default([]),
  /** A client that has not logged in by then is disconnected (not in demo mode, where it watches at once). */
  loginTimeout: Duration.default('10s'),
  /** Feed connections at once, logged in or not; more are refused (and counted). */
  maxClients: z.number().int().min(1).max(10_000).default(32),
});
export type ConsoleFeedConfig = z.infer<typeof ConsoleFeedConfig>;

export const ConsoleConfig = z.strictObject({
  /** A console session unused this long ends (the user logs in again). */
  idleTimeout: Duration.default('15m'),
  /** A console session ends this long after its login, however busy. */
  maxLifetime: Duration.default('12h'),
});
export type ConsoleConfig = z.infer<typeof ConsoleConfig>;

export const HttpConfig = z
  .strictObject({
    /** Address to listen on. On anything but a loopback address, every path but /healthz needs a login. */
    host: z.string().default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(8080),
    /**
     * Every path but /healthz needs a console login (HTTP Basic, a reader or admin account of
     * broker.accounts) or, on /metrics only, the metrics token. Default: true unless `host` is a
     * loopback address (127.0.0.0/8, ::1, localhost). `false` on another address only in demo mode.
     */
    requireLogin: z.boolean().optional(),
    /**
     * File holding the bearer token a Prometheus scraper sends to /metrics
     * (`authorization: { credentials_file: ... }` in its scrape config). The token itself is
     * never written in the site file. At least 24 characters; read at start.
     */
    metricsTokenFile: z.string().min(1).optional(),
    /** The duty console's live alarm feed (WebSocket at /alarms/feed). */
    consoleFeed: ConsoleFeedConfig.default({ allowedOrigins: [], loginTimeout: '10s', maxClients: 32 }),
    /** The staff console at /console/: its sessions (defaults when omitted: 15m idle, 12h at most). */
    console: ConsoleConfig.optional(),
  })
  .default({
    host: '127.0.0.1',
    port: 8080,
    consoleFeed: { allowedOrigins: [], loginTimeout: '10s', maxClients: 32 },
  });
export type HttpConfig = z.infer<typeof HttpConfig>;
