/**
 * Checks a charge point's Basic-auth password against a hash in the form the gateway uses for
 * every account: `scrypt$<N>$<r>$<p>$<salt b64>$<hash b64>` (made by `gateway hash-password`).
 * A family imports only the driver API, so the check is here, on node's scrypt.
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

export interface ScryptHash {
  N: number;
  r: number;
  p: number;
  salt: Buffer;
  hash: Buffer;
}

const B64 = /^[A-Za-z0-9+/]+={0,2}$/;

export function parseScryptHash(stored: string): ScryptHash | undefined {
  const [scheme, n, r, p, salt, hash, ...rest] = stored.split('$');
  const N = Number(n);
  const R = Number(r);
  const P = Number(p);
  if (scheme !== 'scrypt' || rest.length > 0 || !salt || !hash || !B64.test(salt) || !B64.test(hash)) return undefined;
  // Bounds as for broker accounts: a crafted site file cannot make each login allocate gigabytes.
  if (!Number.isInteger(N) || N < 2 || N > 1 << 20 || (N & (N - 1)) !== 0) return undefined;
  if (!Number.isInteger(R) || R < 1 || R > 64 || !Number.isInteger(P) || P < 1 || P > 16) return undefined;
  const s = Buffer.from(salt, 'base64');
  const h = Buffer.from(hash, 'base64');
  return s.length >= 8 && h.length >= 16 ? { N, r: R, p: P, salt: s, hash: h } : undefined;
}

/** A hash of no password: checked for unknown ids so a refusal costs the same whether the id exists. */
export const decoy = (): ScryptHash => ({ N: 16384, r: 8, p: 1, salt: randomBytes(16), hash: randomBytes(32) });

export function verifyPassword(plain: Buffer, h: ScryptHash): Promise<boolean> {
  return new Promise((resolve) => {
    scrypt(plain, h.salt, h.hash.length, { N: h.N, r: h.r, p: h.p, maxmem: 256 * h.N * h.r + 1024 * 1024 }, (err, key) =>
      resolve(!err && timingSafeEqual(key, h.hash)),
    );
  });
}
