import { z } from 'zod';

const Listener = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('tcp'),
    host: z.string().default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(1883),
  }),
  z.object({
    type: z.literal('ws'),
    host: z.string().default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(8083),
  }),
]);

/** An MQTT topic filter; `{username}` is replaced by the account's user name. */
const TopicFilter = z
  .string()
  .min(1)
  .refine((s) => !/#./.test(s), '"#" must be the last character of a topic filter');

export const Account = z.object({
  username: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'letters, digits, ".", "-" and "_" only'),
  /** `scrypt$...` as printed by `gateway hash-password`; plain passwords are never stored in config. */
  passwordHash: z
    .string()
    .regex(/^scrypt\$/, 'a hash made by `gateway hash-password` (starts with "scrypt$")'),
  /**
   * device: publishes only under `dev/{username}/#`, subscribes only to `dev/{username}/cmd/#`;
   * reader: subscribes to the gateway's topics (`cg/#` unless `subscribe` says otherwise), publishes nothing;
   * admin: everything.
   */
  role: z.enum(['device', 'reader', 'admin']),
  /** Replaces the role's default publish filters. */
  publish: z.array(TopicFilter).optional(),
  /** Replaces the role's default subscribe filters. */
  subscribe: z.array(TopicFilter).optional(),
});
export type Account = z.infer<typeof Account>;

export const BrokerConfig = z.object({
  listeners: z
    .array(Listener)
    .min(1)
    .default([{ type: 'tcp', host: '127.0.0.1', port: 1883 }]),
  accounts: z.array(Account).default([]),
});
export type BrokerConfig = z.infer<typeof BrokerConfig>;
