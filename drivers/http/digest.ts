/**
 * HTTP Digest access authentication (RFC 7616), both sides: MD5 and SHA-256, qop "auth".
 *
 * - `DigestServer` checks the `Authorization` header of a request and builds the challenges.
 *   Nonces are stateless (issue time and random bytes, authenticated with an HMAC), expire after
 *   `nonceTtlMs` (then answered `stale=true`, RFC 7616 §3.3), and each nonce count `nc` is accepted
 *   once (replay protection; counts may arrive slightly out of order from concurrent requests).
 *   Only requests that carried the right password leave state behind (bounded), so a flood of
 *   unauthenticated requests costs no memory. Responses are compared in constant time.
 * - `DigestClient` sends requests with `fetch`, answers a 401 challenge once (SHA-256 preferred
 *   over MD5, §3.7), and reuses the nonce with an increasing `nc` until the server says it is stale.
 *
 * Not supported: the `-sess` algorithms, qop `auth-int`, `userhash` (none is needed by the devices
 * here; a challenge offering only those is not answered).
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export type DigestAlgorithm = 'MD5' | 'SHA-256';
/** Supported algorithms in order of preference (RFC 7616 §3.7: the strongest first). */
export const DIGEST_ALGORITHMS: readonly DigestAlgorithm[] = ['SHA-256', 'MD5'];

const NODE_HASH: Record<DigestAlgorithm, string> = { MD5: 'md5', 'SHA-256': 'sha256' };
const hash = (alg: DigestAlgorithm, s: string) => createHash(NODE_HASH[alg]).update(s, 'utf8').digest('hex');

export interface DigestInput {
  algorithm: DigestAlgorithm;
  username: string;
  realm: string;
  password: string;
  method: string;
  uri: string;
  nonce: string;
  /** With qop "auth": nonce count (8 hex digits) and client nonce. Without qop: the RFC 2069 form. */
  qop?: 'auth';
  nc?: string;
  cnonce?: string;
}

/** RFC 7616 §3.4.1: KD(H(A1), nonce:nc:cnonce:qop:H(A2)) with A1 = user:realm:password, A2 = method:uri. */
export function digestResponse(p: DigestInput): string {
  const ha1 = hash(p.algorithm, `${p.username}:${p.realm}:${p.password}`);
  const ha2 = hash(p.algorithm, `${p.method.toUpperCase()}:${p.uri}`);
  const middle = p.qop ? `${p.nonce}:${p.nc}:${p.cnonce}:${p.qop}` : p.nonce;
  return hash(p.algorithm, `${ha1}:${middle}:${ha2}`);
}

export interface AuthScheme {
  /** As sent, e.g. `Digest`. */
  scheme: string;
  /** Parameter names in lower case; quoted values unquoted. */
  params: Record<string, string>;
}

const TOKEN = /[!#$%&'*+.^_`|~0-9A-Za-z-]/;
const MAX_HEADER = 8192;

/**
 * Parses `WWW-Authenticate` / `Authorization` values: one or more schemes, each with its
 * `name=value` parameters (RFC 9110 §11). Several headers joined with ", " parse as several
 * challenges. Throws on anything else.
 */
export function parseAuthHeader(header: string): AuthScheme[] {
  if (header.length > MAX_HEADER) throw new Error(`authentication header longer than ${MAX_HEADER} characters`);
  const out: AuthScheme[] = [];
  let i = 0;
  const skip = (chars: RegExp) => {
    while (i < header.length && chars.test(header[i]!)) i++;
  };
  const token = () => {
    const start = i;
    while (i < header.length && TOKEN.test(header[i]!)) i++;
    return header.slice(start, i);
  };
  for (;;) {
    skip(/[\s,]/);
    if (i >= header.length) break;
    const name = token();
    if (!name) throw new Error(`unexpected "${header[i]}" at ${i}`);
    skip(/[ \t]/);
    if (header[i] !== '=') {
      out.push({ scheme: name, params: {} });
      continue;
    }
    const current = out.at(-1);
    if (!current) throw new Error(`parameter "${name}" before any scheme`);
    i++;
    skip(/[ \t]/);
    let value = '';
    if (header[i] === '"') {
      i++;
      for (;;) {
        if (i >= header.length) throw new Error(`unterminated quoted value of "${name}"`);
        const c = header[i++]!;
        if (c === '"') break;
        value += c === '\\' ? (header[i++] ?? '') : c;
      }
    } else {
      const start = i;
      while (i < header.length && header[i] !== ',' && !/\s/.test(header[i]!)) i++;
      value = header.slice(start, i);
    }
    current.params[name.toLowerCase()] = value;
  }
  return out;
}

const quote = (s: string) => `"${s.replace(/["\\]/g, '\\$&')}"`;

// ---------------------------------------------------------------------------------------------
// Server

export interface DigestServerOptions {
  realm: string;
  /** The password of a user; undefined: no such user. */
  password(username: string): string | undefined;
  /** Algorithms offered, one challenge each, in this order (default SHA-256, MD5). */
  algorithms?: readonly DigestAlgorithm[];
  /** A nonce older than this is stale: the client retries with a new one (default 5 min). */
  nonceTtlMs?: number;
  /** Nonces whose counts are remembered at most (the oldest are forgotten first; default 10,000). */
  maxTrackedNonces?: number;
  /** Wall clock, ms (tests). */
  now?: () => number;
}

/** Why a request was not authenticated; `stale` is no refusal (the client had the password). */
export type DigestRefusal = 'no-credentials' | 'malformed' | 'unknown-user' | 'wrong-credentials' | 'replay' | 'stale';

export type DigestCheck =
  | { ok: true; username: string }
  | { ok: false; reason: DigestRefusal; detail: string; username?: string };

/** Out-of-order counts accepted below the highest seen (concurrent requests on one nonce). */
const NC_WINDOW = 64;

export class DigestServer {
  private readonly secret = randomBytes(32);
  private readonly counts = new Map<string, { max: number; seen: Set<number> }>();
  private readonly algorithms: readonly DigestAlgorithm[];
  private readonly ttl: number;
  private readonly now: () => number;

  constructor(private readonly o: DigestServerOptions) {
    this.algorithms = o.algorithms ?? DIGEST_ALGORITHMS;
    if (this.algorithms.length === 0) throw new Error('DigestServer: offer at least one algorithm');
    this.ttl = o.nonceTtlMs ?? 300_000;
    this.now = o.now ?? Date.now;
  }

  /** `WWW-Authenticate` values for a 401: one challenge per algorithm, sharing one fresh nonce. */
  challenges(stale = false): string[] {
    const nonce = this.nonce();
    return this.algorithms.map(
      (alg) =>
        `Digest realm=${quote(this.o.realm)}, qop="auth", algorithm=${alg}, nonce=${quote(nonce)}` +
        `${stale ? ', stale=true' : ''}`,
    );
  }

  /** Checks the `Authorization` header of a request (`uri`: its request target as received). */
  check(method: string, uri: string, authorization: string | undefined): DigestCheck {
    if (!authorization) return { ok: false, reason: 'no-credentials', detail: 'no Authorization header' };
    let schemes: AuthScheme[];
    try {
      schemes = parseAuthHeader(authorization);
    } catch (err) {
      return { ok: false, reason: 'malformed', detail: `Authorization header: ${(err as Error).message}` };
    }
    const digest = schemes.length === 1 && schemes[0]!.scheme.toLowerCase() === 'digest' ? schemes[0]!.params : undefined;
    if (!digest) return { ok: false, reason: 'malformed', detail: 'Authorization is not one Digest credential' };
    const missing = ['username', 'realm', 'nonce', 'uri', 'response', 'qop', 'nc', 'cnonce'].filter((k) => !digest[k]);
    if (missing.length > 0) return { ok: false, reason: 'malformed', detail: `Digest credential lacks ${missing.join(', ')}` };
    const { username, realm, nonce, response, qop, nc, cnonce } = digest as Record<string, string>;
    const algorithm = (digest.algorithm ?? 'MD5').toUpperCase() as DigestAlgorithm;
    if (!this.algorithms.includes(algorithm))
      return { ok: false, reason: 'malformed', detail: `algorithm ${digest.algorithm} not offered (${this.algorithms.join(', ')})` };
    if (qop !== 'auth') return { ok: false, reason: 'malformed', detail: `qop ${qop} not offered (auth)` };
    if (!/^[0-9a-fA-F]{8}$/.test(nc!)) return { ok: false, reason: 'malformed', detail: 'nc is not 8 hex digits' };
    if (realm !== this.o.realm) return { ok: false, reason: 'wrong-credentials', detail: `realm "${realm}" is not "${this.o.realm}"`, username };
    if (digest.uri !== uri) return { ok: false, reason: 'wrong-credentials', detail: 'uri does not match the request target', username };
    const issued = this.issuedAt(nonce!);
    if (issued === undefined) return { ok: false, reason: 'wrong-credentials', detail: 'nonce not issued by this server', username };
    const password = this.o.password(username!);
    if (password === undefined) return { ok: false, reason: 'unknown-user', detail: `no user "${username}"`, username };
    const expected = digestResponse({ algorithm, username: username!, realm: realm!, password, method, uri, nonce: nonce!, qop: 'auth', nc, cnonce });
    if (!sameHex(expected, response!)) return { ok: false, reason: 'wrong-credentials', detail: 'wrong response (password)', username };
    // The client knows the password from here on.
    const age = this.now() - issued;
    if (age > this.ttl || age < -60_000) return { ok: false, reason: 'stale', detail: 'nonce expired', username };
    if (!this.countOnce(nonce!, Number.parseInt(nc!, 16)))
      return { ok: false, reason: 'replay', detail: `nonce count ${nc} already used`, username };
    return { ok: true, username: username! };
  }

  private nonce(): string {
    const body = `${this.now().toString(36)}.${randomBytes(12).toString('base64url')}`;
    return `${body}.${this.mac(body)}`;
  }

  private mac(body: string): string {
    return createHmac('sha256', this.secret).update(body).digest('base64url').slice(0, 22);
  }

  /** Issue time of a nonce this server made; undefined for any other string. */
  private issuedAt(nonce: string): number | undefined {
    const cut = nonce.lastIndexOf('.');
    if (cut < 0) return undefined;
    const body = nonce.slice(0, cut);
    const given = Buffer.from(nonce.slice(cut + 1));
    const mac = Buffer.from(this.mac(body));
    if (given.length !== mac.length || !timingSafeEqual(given, mac)) return undefined;
    const t = Number.parseInt(body.split('.')[0]!, 36);
    return Number.isFinite(t) ? t : undefined;
  }

  /** True the first time a count is used with a nonce. */
  private countOnce(nonce: string, nc: number): boolean {
    let c = this.counts.get(nonce);
    if (!c) {
      c = { max: 0, seen: new Set() };
      this.counts.set(nonce, c);
      const max = this.o.maxTrackedNonces ?? 10_000;
      while (this.counts.size > max) this.counts.delete(this.counts.keys().next().value!);
    }
    if (nc <= c.max - NC_WINDOW || c.seen.has(nc)) return false;
    c.seen.add(nc);
    if (nc > c.max) {
      c.max = nc;
      for (const n of c.seen) if (n <= nc - NC_WINDOW) c.seen.delete(n);
    }
    return true;
  }
}

/** Constant-time comparison of two hex digests (case-insensitive); different lengths are unequal. */
function sameHex(expected: string, given: string): boolean {
  const a = Buffer.from(expected.toLowerCase());
  const b = Buffer.from(given.toLowerCase());
  if (a.length !== b.length) {
    timingSafeEqual(a, a);
    return false;
  }
  return timingSafeEqual(a, b);
}

// ---------------------------------------------------------------------------------------------
// Client

export interface DigestCredentials {
  username: string;
  password: string;
}

interface Session {
  realm: string;
  nonce: string;
  opaque?: string;
  qop?: 'auth';
  algorithm: DigestAlgorithm;
  nc: number;
}

/** The challenge to answer among those of a 401: the preferred supported algorithm, qop auth (or none). */
export function pickChallenge(header: string | null): (Omit<Session, 'nc'> & { stale: boolean }) | undefined {
  if (!header) return undefined;
  let schemes: AuthScheme[];
  try {
    schemes = parseAuthHeader(header);
  } catch {
    return undefined;
  }
  const usable = schemes
    .filter((s) => s.scheme.toLowerCase() === 'digest' && s.params.realm !== undefined && s.params.nonce)
    .map((s) => ({ p: s.params, alg: (s.params.algorithm ?? 'MD5').toUpperCase() as DigestAlgorithm }))
    .filter(({ p, alg }) => DIGEST_ALGORITHMS.includes(alg) && (p.qop === undefined || p.qop.split(/\s*,\s*/).includes('auth')))
    .sort((a, b) => DIGEST_ALGORITHMS.indexOf(a.alg) - DIGEST_ALGORITHMS.indexOf(b.alg));
  const best = usable[0];
  if (!best) return undefined;
  return {
    realm: best.p.realm!,
    nonce: best.p.nonce!,
    ...(best.p.opaque !== undefined ? { opaque: best.p.opaque } : {}),
    ...(best.p.qop !== undefined ? { qop: 'auth' as const } : {}),
    algorithm: best.alg,
    stale: best.p.stale?.toLowerCase() === 'true',
  };
}

/** Requests with Digest authentication; one instance per server and account. */
export class DigestClient {
  private session?: Session;

  constructor(private readonly creds: DigestCredentials) {}

  /** Like `fetch`; the body must be a string or bytes (it may be sent twice). */
  async fetch(url: string | URL, init: RequestInit & { body?: string | Uint8Array } = {}): Promise<Response> {
    const target = new URL(url);
    const method = (init.method ?? 'GET').toUpperCase();
    const uri = `${target.pathname}${target.search}`;
    for (let attempt = 0; ; attempt++) {
      const sent = this.session;
      const headers = new Headers(init.headers);
      if (sent) headers.set('authorization', this.authorization(sent, method, uri));
      const res = await fetch(target, { ...init, method, headers });
      if (res.status !== 401 || attempt >= 2) return res;
      const next = pickChallenge(res.headers.get('www-authenticate'));
      // A cached nonce may be unknown to the server (it restarted): answer the new challenge once.
      // Refused again, and not because the nonce went stale: the credentials are wrong; stop.
      if (!next || (attempt > 0 && !next.stale)) return res;
      await res.body?.cancel();
      const { stale: _stale, ...session } = next;
      this.session = { ...session, nc: 0 };
    }
  }

  private authorization(s: Session, method: string, uri: string): string {
    s.nc++;
    const nc = s.nc.toString(16).padStart(8, '0');
    const cnonce = randomBytes(16).toString('hex');
    const response = digestResponse({ ...this.creds, ...s, method, uri, nc, cnonce });
    const parts = [
      `username=${quote(this.creds.username)}`,
      `realm=${quote(s.realm)}`,
      `nonce=${quote(s.nonce)}`,
      `uri=${quote(uri)}`,
      `algorithm=${s.algorithm}`,
      `response="${response}"`,
      ...(s.opaque !== undefined ? [`opaque=${quote(s.opaque)}`] : []),
      ...(s.qop ? [`qop=auth`, `nc=${nc}`, `cnonce="${cnonce}"`] : []),
    ];
    return `Digest ${parts.join(', ')}`;
  }
}
