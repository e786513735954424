/**
 * SOAP 1.2 for the simulated ONVIF camera: parsing a request envelope, building answers and
 * faults, and checking the WS-Security UsernameToken (OASIS Web Services Security UsernameToken
 * Profile 1.0: PasswordDigest = Base64(SHA-1(nonce + created + password))), as ONVIF Core §5.9
 * asks of a device.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { XMLParser, XMLValidator } from 'fast-xml-parser';

export const NS = {
  env: 'http://www.w3.org/2003/05/soap-envelope',
  tds: 'http://www.onvif.org/ver10/device/wsdl',
  trt: 'http://www.onvif.org/ver10/media/wsdl',
  tptz: 'http://www.onvif.org/ver20/ptz/wsdl',
  tev: 'http://www.onvif.org/ver10/events/wsdl',
  tt: 'http://www.onvif.org/ver10/schema',
  ter: 'http://www.onvif.org/ver10/error',
  wsnt: 'http://docs.oasis-open.org/wsn/b-2',
  wsa: 'http://www.w3.org/2005/08/addressing',
  wstop: 'http://docs.oasis-open.org/wsn/t-1',
  tns1: 'http://www.onvif.org/ver10/topics',
  wsse: 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd',
} as const;

const XMLNS = Object.entries(NS)
  .map(([p, uri]) => `xmlns:${p}="${uri}"`)
  .join(' ');

/** A parsed element: attributes as `@_name`, text as `#text`, children by local name (prefixes removed). */
export type Node = Record<string, unknown>;

export interface SoapRequest {
  /** Local name of the first element in the Body, e.g. `GetProfiles`. */
  action: string;
  body: Node;
  header: Node;
}

export class SoapError extends Error {
  constructor(
    readonly code: 'env:Sender' | 'env:Receiver' | 'env:VersionMismatch',
    readonly subcodes: string[],
    reason: string,
    readonly httpStatus = 400,
  ) {
    super(reason);
  }
}

const parser = new XMLParser({
  ignoreAttributes: false,
  removeNSPrefix: true,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
});

const child = (n: unknown, name: string): unknown => (n && typeof n === 'object' ? (n as Node)[name] : undefined);

/** The text of an element that may carry attributes (then parsed as `{ '#text': ... }`). */
export function text(n: unknown): string | undefined {
  if (typeof n === 'string') return n;
  if (typeof n === 'number' || typeof n === 'boolean') return String(n);
  const t = child(n, '#text');
  return t === undefined ? (n && typeof n === 'object' ? '' : undefined) : String(t);
}

/** Follows a path of local names, e.g. `path(body, 'ProfileToken')`. */
export function path(n: unknown, ...names: string[]): unknown {
  return names.reduce<unknown>((cur, name) => child(cur, name), n);
}

/** Parses a request: not XML → `ter:WellFormed`; not a SOAP 1.2 envelope → VersionMismatch; empty Body → `ter:InvalidArgVal`. */
export function parseRequest(xml: string): SoapRequest {
  const valid = XMLValidator.validate(xml);
  if (valid !== true) {
    throw new SoapError('env:Sender', ['ter:WellFormed'], `request is not well-formed XML: ${valid.err.msg} (line ${valid.err.line})`);
  }
  const doc = parser.parse(xml) as Node;
  const env = doc.Envelope as Node | undefined;
  if (!env || typeof env !== 'object') throw new SoapError('env:Sender', ['ter:WellFormed'], 'the document is not a SOAP Envelope');
  if (envelopeNamespace(xml) !== NS.env) {
    throw new SoapError('env:VersionMismatch', [], `the Envelope is not in the SOAP 1.2 namespace ${NS.env}`);
  }
  const body = env.Body;
  const action = body && typeof body === 'object' ? Object.keys(body).find((k) => !k.startsWith('@_') && k !== '#text') : undefined;
  if (!action) throw new SoapError('env:Sender', ['ter:InvalidArgVal'], 'the SOAP Body holds no request');
  const op = (body as Node)[action];
  return { action, body: op && typeof op === 'object' ? (op as Node) : {}, header: (env.Header as Node | undefined) ?? {} };
}

const rawParser = new XMLParser({ ignoreAttributes: false, parseTagValue: false, stopNodes: ['*.*'] });

/** The namespace URI of the document element (its prefix looked up on the element itself, as clients declare it there). */
function envelopeNamespace(xml: string): string | undefined {
  const doc = rawParser.parse(xml) as Node;
  const root = Object.keys(doc).find((k) => !k.startsWith('?'));
  if (!root) return undefined;
  const prefix = root.includes(':') ? root.split(':')[0] : undefined;
  const decl = (doc[root] as Node | undefined)?.[prefix ? `@_xmlns:${prefix}` : '@_xmlns'];
  return typeof decl === 'string' ? decl : undefined;
}

export const envelope = (body: string, header = ''): string =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<env:Envelope ${XMLNS}>` +
  (header ? `<env:Header>${header}</env:Header>` : '') +
  `<env:Body>${body}</env:Body></env:Envelope>`;

export function faultXml(e: SoapError): string {
  // Subcodes nest (SOAP 1.2 §5.4.6): the first is the outermost.
  const sub = e.subcodes.reduceRight((inner, v) => `<env:Subcode><env:Value>${v}</env:Value>${inner}</env:Subcode>`, '');
  return envelope(
    `<env:Fault><env:Code><env:Value>${e.code}</env:Value>${sub}</env:Code>` +
      `<env:Reason><env:Text xml:lang="en">${escapeXml(e.message)}</env:Text></env:Reason></env:Fault>`,
  );
}

export const escapeXml = (s: string): string =>
  s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);

export const notAuthorized = (why: string) => new SoapError('env:Sender', ['ter:NotAuthorized'], `Sender not Authorized: ${why}`);

const PASSWORD_DIGEST = '#PasswordDigest';
const PASSWORD_TEXT = '#PasswordText';

export interface WsSecurityCheck {
  username: string;
  password: string;
  /** The camera's clock, ms since the epoch. */
  now: number;
  /** Largest accepted distance between Created and the camera's clock. */
  maxSkewMs: number;
  /** `Nonce Created` pairs seen lately (a replayed token is refused); bounded by the caller. */
  seenNonces: Map<string, number>;
}

/**
 * The request's UsernameToken, checked: undefined when the request carries no Security header,
 * otherwise throws `ter:NotAuthorized` saying what is wrong, or returns the user name.
 */
export function checkUsernameToken(header: Node, c: WsSecurityCheck): string | undefined {
  const token = path(header, 'Security', 'UsernameToken');
  if (token === undefined) return undefined;
  const user = text(path(token, 'Username'));
  const pwNode = path(token, 'Password');
  const pw = text(pwNode) ?? '';
  const type = String(path(pwNode, '@_Type') ?? PASSWORD_TEXT);
  if (user !== c.username) throw notAuthorized(`unknown user "${user ?? ''}"`);
  if (type.endsWith(PASSWORD_TEXT)) {
    if (!sameText(pw, c.password)) throw notAuthorized('wrong password');
    return user;
  }
  if (!type.endsWith(PASSWORD_DIGEST)) throw notAuthorized(`unsupported password type ${type}`);
  const nonce = text(path(token, 'Nonce')) ?? '';
  const created = text(path(token, 'Created')) ?? '';
  const at = Date.parse(created);
  if (!nonce || Number.isNaN(at)) throw notAuthorized('PasswordDigest needs a Nonce and a Created time (ISO 8601)');
  if (Math.abs(at - c.now) > c.maxSkewMs) {
    throw notAuthorized(
      `Created ${created} is ${Math.round((at - c.now) / 1000)} s from the camera's clock ` +
        `${new Date(c.now).toISOString()} (GetSystemDateAndTime gives it; at most ${c.maxSkewMs / 1000} s allowed)`,
    );
  }
  const expected = createHash('sha1')
    .update(Buffer.concat([Buffer.from(nonce, 'base64'), Buffer.from(created, 'utf8'), Buffer.from(c.password, 'utf8')]))
    .digest('base64');
  if (!sameText(pw, expected)) throw notAuthorized('wrong password digest');
  // a replay is the same token again: Nonce and Created both seen (libonvif keeps one Nonce for a session)
  const key = `${nonce} ${created}`;
  if (c.seenNonces.has(key)) throw notAuthorized('replayed UsernameToken (Nonce and Created seen before)');
  c.seenNonces.set(key, at);
  return user;
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** xs:duration as ONVIF uses it (PnDTnHnMnS, e.g. PT1M, PT0.5S) → ms; undefined if not one. */
export function durationMs(s: string): number | undefined {
  const m = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(s.trim());
  if (!m || s.trim() === 'P' || s.trim().endsWith('T')) return undefined;
  const [, d, h, min, sec] = m;
  return ((Number(d ?? 0) * 24 + Number(h ?? 0)) * 60 + Number(min ?? 0)) * 60_000 + Number(sec ?? 0) * 1000;
}

/** A termination time given as a duration (from `now`) or an absolute xs:dateTime. */
export function terminationAt(s: string | undefined, now: number, fallbackMs: number): number {
  if (s === undefined || s === '') return now + fallbackMs;
  const d = durationMs(s);
  if (d !== undefined) return now + d;
  const at = Date.parse(s);
  if (Number.isNaN(at)) {
    throw new SoapError('env:Sender', ['ter:InvalidArgVal'], `termination time "${s}" is neither an xs:duration (PT60S) nor an xs:dateTime`);
  }
  return at;
}
