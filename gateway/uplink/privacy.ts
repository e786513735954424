/**
 * Personal data towards the city. Each family names the data keys of its event types that
 * identify a person (`EventSpec.personal`: card and employee numbers, names); the site's
 * `privacy.personalData` says what the city gets of them: `full`, `masked` (first and last
 * character kept: `1****9`), `hashed` (HMAC-SHA256 with the site's secret salt, hex: the same
 * person gives the same value, which cannot be reversed without the salt) or `dropped` (key
 * removed). It is applied where an event enters the outbox, so no publish or replay ever carries
 * more; the journal, the local bus and the console keep the full data.
 */
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { EventEnvelope } from '../core/envelope.js';
import { errorMessage, GatewayError } from '../core/errors.js';
import type { AnyFamily } from '../devices/driver-api.js';

/** A salt shorter than this is refused: it would make the hashes guessable. */
export const MIN_SALT_BYTES = 16;
const SALT_HINT =
  'create one with `head -c 32 /dev/urandom > /etc/compound-gateway/privacy-salt` (readable by the gateway only) and keep it: a new salt changes every hash';

export const PrivacyConfig = z
  .strictObject({
    /** What the city gets of data keys that identify a person. */
    personalData: z.enum(['full', 'masked', 'hashed', 'dropped']).default('masked'),
    /** `hashed`: file holding the secret salt (at least 16 bytes; a trailing newline is ignored). */
    saltFile: z.string().min(1).optional(),
  })
  .refine((p) => p.personalData !== 'hashed' || p.saltFile !== undefined, {
    message: `personalData: hashed needs saltFile; ${SALT_HINT}`,
    path: ['saltFile'],
  });
export type PrivacyConfig = z.infer<typeof PrivacyConfig>;

/** Reads the salt of `hashed`; a missing, unreadable or short file is a clear error at start. */
export function readSalt(file: string): Buffer {
  let salt: Buffer;
  try {
    salt = readFileSync(file);
  } catch (err) {
    throw new GatewayError('CONFIG_INVALID', `privacy.saltFile ${file} cannot be read: ${errorMessage(err)}`, SALT_HINT);
  }
  const end = salt.at(-1) === 0x0a ? (salt.at(-2) === 0x0d ? 2 : 1) : 0;
  salt = salt.subarray(0, salt.length - end);
  if (salt.length < MIN_SALT_BYTES)
    throw new GatewayError(
      'CONFIG_INVALID',
      `privacy.saltFile ${file} holds ${salt.length} bytes; at least ${MIN_SALT_BYTES} are needed`,
      SALT_HINT,
    );
  return salt;
}

/** `123456789` -> `1****9`: the first and last character, the length hidden. */
export function maskValue(v: unknown): string {
  const chars = Array.from(textOf(v));
  if (chars.length <= 1) return '*';
  if (chars.length === 2) return `${chars[0]}*`;
  return `${chars[0]}****${chars[chars.length - 1]}`;
}

const textOf = (v: unknown): string => (typeof v === 'string' ? v : (JSON.stringify(v) ?? ''));

/** Rewrites the personal keys of an event's data; undefined when the event has none to rewrite. */
export type Redactor = (env: EventEnvelope) => EventEnvelope | undefined;

/**
 * The redactor of a site: undefined when nothing is ever rewritten (`full`, or no family names
 * personal keys). Covers the event's own data and, in `alarm.*` events, the data of the event
 * that raised the alarm (`alarm.trigger.data`).
 */
export function createRedactor(
  privacy: PrivacyConfig,
  families: readonly AnyFamily[],
  salt?: Buffer,
): Redactor | undefined {
  if (privacy.personalData === 'full') return undefined;
  const personal = new Map<string, readonly string[]>();
  for (const f of families)
    for (const [type, spec] of Object.entries(f.events))
      if (spec.personal?.length) personal.set(`${f.family}\u0000${type}`, spec.personal);
  if (!personal.size) return undefined;
  if (privacy.personalData === 'hashed' && !salt) throw new Error('privacy: hashed needs the salt');
  const rewrite = (v: unknown): unknown =>
    privacy.personalData === 'masked'
      ? maskValue(v)
      : createHmac('sha256', salt!).update(textOf(v)).digest('hex');

  /** A copy of `data` with its personal keys rewritten, or undefined when it has none of them. */
  const redactData = (family: string, type: string, data: Record<string, unknown>) => {
    const keys = personal.get(`${family}\u0000${type}`)?.filter((k) => data[k] !== undefined && data[k] !== null);
    if (!keys?.length) return undefined;
    const out = { ...data };
    for (const k of keys) {
      if (privacy.personalData === 'dropped') delete out[k];
      else out[k] = rewrite(out[k]);
    }
    return out;
  };

  return (env) => {
    const own = redactData(env.device.family, env.type, env.data);
    if (own) return { ...env, data: own };
    if (!env.type.startsWith('alarm.')) return undefined;
    const alarm = env.data.alarm as { trigger?: { type?: unknown; data?: unknown } } | undefined;
    const trigger = alarm?.trigger;
    if (typeof trigger?.type !== 'string' || !trigger.data || typeof trigger.data !== 'object') return undefined;
    const data = redactData(env.device.family, trigger.type, trigger.data as Record<string, unknown>);
    if (!data) return undefined;
    return { ...env, data: { ...env.data, alarm: { ...alarm, trigger: { ...trigger, data } } } };
  };
}
