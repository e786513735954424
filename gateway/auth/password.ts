import { randomBytes, type ScryptOptions, scrypt, scryptSync, timingSafeEqual } from 'node:crypto';
import { GatewayError } from '../core/errors.js';

/**
 * Password hashes for broker accounts: `scrypt$<N>$<r>$<p>$<salt b64>$<hash b64>`.
 * Only hashes are kept in config; plain passwords are never stored or logged.
 */
/** The cost of new hashes; also the cost of the stand-in hash checked for unknown user names. */
export const DEFAULT_COST = { N: 16384, r: 8, p: 1 } as const;
const COST = DEFAULT_COST;
const SALT_BYTES = 16;
const KEY_BYTES = 32;
/** Upper bound on N so a crafted config cannot make every login allocate gigabytes. */
const MAX_N = 1 << 20;

export interface ParsedHash {
  N: number;
  r: number;
  p: number;
  salt: Buffer;
  hash: Buffer;
}

export function hashPassword(plain: string): string {
  const salt = randomBytes(SALT_BYTES);
  const hash = scryptSync(plain, salt, KEY_BYTES, scryptOptions(COST));
  return ['scrypt', COST.N, COST.r, COST.p, salt.toString('base64'), hash.toString('base64')].join('$');
}

/** Throws `PASSWORD_HASH_FORMAT` when `stored` is not a hash made by {@link hashPassword}. */
export function parsePasswordHash(stored: string): ParsedHash {
  const parts = stored.split('$');
  const [scheme, n, r, p, salt, hash] = parts;
  const N = Number(n);
  const R = Number(r);
  const P = Number(p);
  const ok =
    parts.length === 6 &&
    scheme === 'scrypt' &&
    Number.isInteger(N) &&
    N > 1 &&
    N <= MAX_N &&
    (N & (N - 1)) === 0 &&
    Number.isInteger(R) &&
    R >= 1 &&
    R <= 64 &&
    Number.isInteger(P) &&
    P >= 1 &&
    P <= 16 &&
    isBase64(salt) &&
    isBase64(hash);
  const saltBytes = ok ? Buffer.from(salt, 'base64') : Buffer.alloc(0);
  const hashBytes = ok ? Buffer.from(hash, 'base64') : Buffer.alloc(0);
  if (saltBytes.length < 8 || hashBytes.length < 16) {
    throw new GatewayError(
      'PASSWORD_HASH_FORMAT',
      'a password hash is not in the form scrypt$<N>$<r>$<p>$<salt>$<hash>',
      'create it with `gateway hash-password`',
    );
  }
  return { N, r: R, p: P, salt: saltBytes, hash: hashBytes };
}

/**
 * A hash of no password at the default cost, checked for unknown user names so that a refusal
 * costs the same scrypt work (and time) whether or not the name exists.
 */
export function decoyHash(): ParsedHash {
  return { ...DEFAULT_COST, salt: randomBytes(SALT_BYTES), hash: randomBytes(KEY_BYTES) };
}

/** Synchronous check (CLI, tests). Blocks the event loop for the scrypt time: the broker uses the async one. */
export function verifyPassword(plain: string | Buffer, stored: string | ParsedHash): boolean {
  const h = typeof stored === 'string' ? parsePasswordHash(stored) : stored;
  return timingSafeEqual(scryptSync(plain, h.salt, h.hash.length, scryptOptions(h)), h.hash);
}

/** Runs scrypt on the libuv thread pool so logins do not block the event loop. */
export function verifyPasswordAsync(plain: string | Buffer, stored: string | ParsedHash): Promise<boolean> {
  const h = typeof stored === 'string' ? parsePasswordHash(stored) : stored;
  return new Promise((resolve, reject) => {
    scrypt(plain, h.salt, h.hash.length, scryptOptions(h), (err, key) => {
      if (err) reject(err);
      else resolve(timingSafeEqual(key, h.hash));
    });
  });
}

function scryptOptions(c: { N: number; r: number; p: number }): ScryptOptions {
  // scrypt needs about 128 * N * r bytes; Node's default maxmem (32 MiB) is too small above N=2^15.
  return { N: c.N, r: c.r, p: c.p, maxmem: 256 * c.N * c.r };
}

function isBase64(s: string | undefined): s is string {
  return s !== undefined && s.length > 0 && /^[A-Za-z0-9+/]+={0,2}$/.test(s);
}
