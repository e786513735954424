/** Site-file schema of an access-gate driver instance: its listener, its terminals, and extra event codes. */
import { z } from 'zod';
import { DeviceBase, DriverBase, ListenConfig, PollConfig } from '../../gateway/devices/driver-api.js';
import { EventCode } from './event-codes.js';

/** A Digest account; the password inline or, better, in a file readable by the gateway only (first line). */
export const Account = z
  .strictObject({
    username: z.string().min(1),
    password: z.string().min(1).optional(),
    passwordFile: z.string().min(1).optional(),
  })
  .refine((a) => (a.password === undefined) !== (a.passwordFile === undefined), {
    message: 'give either password or passwordFile (one of them)',
    path: ['password'],
  });
export type Account = z.infer<typeof Account>;

export const AccessGateDevice = z.strictObject({
  ...DeviceBase.shape,
  /** The terminal's ISAPI address, e.g. http://192.168.10.21 */
  url: z.string().regex(/^https?:\/\/[^/]+\/?$/, 'http://<host>[:port] or https://<host>[:port], nothing after'),
  /** The account the gateway logs in to the terminal with (door commands, event search). */
  api: Account,
  /** The account the terminal pushes events with (its HTTP listening host settings); unique per terminal. */
  push: Account,
  /** Doors (locks) the terminal controls. */
  doors: z.number().int().min(1).max(32).default(1),
});
export type AccessGateDevice = z.infer<typeof AccessGateDevice>;

export const AccessGateConfig = z
  .strictObject({
    ...DriverBase.shape,
    family: z.literal('access-gate'),
    ...ListenConfig,
    ...PollConfig,
    /** How often the gateway checks each terminal (ISAPI deviceInfo); pushes and heartbeats come in between. */
    pollIntervalMs: z.number().int().min(1000).default(30_000),
    /** Time for one request to a terminal. */
    requestTimeoutMs: z.number().int().min(100).default(5000),
    /** Event codes of another model or firmware: each adds a code or replaces the built-in one. */
    eventCodes: z.array(EventCode).default([]),
    catchUp: z
      .strictObject({
        /** Records per AcsEvent search page (terminals answer at most 30). */
        pageSize: z.number().int().min(1).max(30).default(30),
        /** Records fetched at most in one catch-up; the rest comes with the next one. */
        maxEvents: z.number().int().min(1).max(100_000).default(10_000),
        /** On the very first start (nothing fetched before): how far back to fetch. 0: nothing. */
        firstStartLookbackMs: z.number().int().min(0).default(0),
      })
      .default({ pageSize: 30, maxEvents: 10_000, firstStartLookbackMs: 0 }),
    devices: z.array(AccessGateDevice).min(1),
  })
  .superRefine((c, ctx) => {
    const seen = new Map<string, string>();
    c.devices.forEach((d, i) => {
      const other = seen.get(d.push.username);
      if (other)
        ctx.addIssue({
          code: 'custom',
          path: ['devices', i, 'push', 'username'],
          message: `push username "${d.push.username}" is also ${other}'s: each terminal pushes with its own account`,
        });
      seen.set(d.push.username, d.id);
    });
  });
export type AccessGateConfig = z.infer<typeof AccessGateConfig>;
