/**
 * `gateway discover onvif`: WS-Discovery Probes for ONVIF cameras (OASIS WS-Discovery 1.1 message
 * exchange, the 2005/04 namespace ONVIF Core §7 uses; multicast to 239.255.255.250:3702, or
 * unicast to `--target host:port`), printed as site-file device entries ready to paste.
 */
import { randomUUID } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { networkInterfaces } from 'node:os';
import { parseArgs } from 'node:util';
import { XMLParser, XMLValidator } from 'fast-xml-parser';

export const WSD_GROUP = '239.255.255.250';
export const WSD_PORT = 3702;
const NS_DISCOVERY = 'http://schemas.xmlsoap.org/ws/2005/04/discovery';
const NS_ADDRESSING = 'http://schemas.xmlsoap.org/ws/2004/08/addressing';

export const DISCOVER_USAGE =
  'gateway discover onvif [--interface eth0|IP] [--timeout 3s] [--target host:port]\n' +
  '                                         find ONVIF cameras (WS-Discovery) and print site-file entries';

export interface FoundCamera {
  endpoint: string;
  xaddrs: string[];
  scopes: string[];
  from: string;
}

export function probeXml(messageId: string): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" ` +
    `xmlns:a="${NS_ADDRESSING}" xmlns:d="${NS_DISCOVERY}" xmlns:dn="http://www.onvif.org/ver10/network/wsdl"><s:Header>` +
    `<a:MessageID>${messageId}</a:MessageID><a:To>urn:schemas-xmlsoap-org:ws:2005:04:discovery</a:To>` +
    `<a:Action>${NS_DISCOVERY}/Probe</a:Action></s:Header>` +
    `<s:Body><d:Probe><d:Types>dn:NetworkVideoTransmitter</d:Types></d:Probe></s:Body></s:Envelope>`
  );
}

const parser = new XMLParser({ ignoreAttributes: true, removeNSPrefix: true, parseTagValue: false, isArray: (name) => name === 'ProbeMatch' });
const words = (v: unknown): string[] => (typeof v === 'string' ? v.split(/\s+/).filter(Boolean) : []);

/** The cameras of a ProbeMatches answering our probe (`relatesTo`); [] for anything else. */
export function parseProbeMatches(xml: string, relatesTo: string, from: string): FoundCamera[] {
  if (XMLValidator.validate(xml) !== true) return [];
  const env = (parser.parse(xml) as { Envelope?: { Header?: { RelatesTo?: unknown }; Body?: { ProbeMatches?: { ProbeMatch?: unknown[] } } } }).Envelope;
  if (!env || String(env.Header?.RelatesTo ?? '').trim() !== relatesTo) return [];
  return (env.Body?.ProbeMatches?.ProbeMatch ?? []).flatMap((m) => {
    const pm = m as { EndpointReference?: { Address?: unknown }; XAddrs?: unknown; Scopes?: unknown };
    const xaddrs = words(pm.XAddrs);
    return xaddrs.length ? [{ endpoint: String(pm.EndpointReference?.Address ?? '').trim(), xaddrs, scopes: words(pm.Scopes), from }] : [];
  });
}

/** A scope's value, e.g. `hardware` of onvif://www.onvif.org/hardware/SV-IPC-T1 (percent-decoded). */
export function scope(scopes: readonly string[], key: string): string | undefined {
  const prefix = `onvif://www.onvif.org/${key}/`;
  const s = scopes.find((x) => x.toLowerCase().startsWith(prefix.toLowerCase()));
  return s === undefined ? undefined : decodeURIComponent(s.slice(prefix.length));
}

/** One found camera as a device entry of an onvif-camera driver (YAML). */
export function snippet(c: FoundCamera, n: number): string {
  const url = new URL(c.xaddrs.find((x) => x.startsWith('http://')) ?? c.xaddrs[0]!);
  const name = scope(c.scopes, 'name');
  const model = scope(c.scopes, 'hardware') ?? 'unknown model';
  const id = `cam-${(name ?? url.hostname).toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || n}`;
  const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  return [
    `# ${model}${name ? ` "${name}"` : ''} at ${c.xaddrs.join(' ')} (answered from ${c.from})`,
    `# scopes: ${c.scopes.join(' ')}`,
    `- id: ${id}`,
    ...(name ? [`  name: ${JSON.stringify(name)}`] : []),
    `  host: ${url.hostname}`,
    `  port: ${port}`,
    ...(url.pathname !== '/onvif/device_service' ? [`  path: ${url.pathname}`] : []),
    `  username: admin                     # the camera's ONVIF account`,
    `  passwordFile: /etc/gateway/secrets/${id}   # first line: its password`,
    `  # building: B1                      # where it is`,
    `  # zone: gate`,
    `  presets: {}                         # name: token, e.g. Gate: 1`,
    `  watches: { devices: [], zones: [] }   # what it has in view, e.g. zones: [B1], preset: Gate`,
  ].join('\n');
}

function duration(v: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s)?$/.exec(v);
  if (!m) throw new Error(`--timeout ${v}: give a duration like 3s or 500ms`);
  return Number(m[1]) * (m[2] === 'ms' ? 1 : 1000);
}

/** The IPv4 address of an interface given by name (eth0) or address. */
function interfaceAddress(name: string): string {
  if (/^\d+\.\d+\.\d+\.\d+$/.test(name)) return name;
  const found = networkInterfaces()[name]?.find((a) => a.family === 'IPv4');
  if (!found) throw new Error(`--interface ${name}: no such interface with an IPv4 address (have: ${Object.keys(networkInterfaces()).join(', ')})`);
  return found.address;
}

/** Sends the probe and collects answers until the timeout. */
export async function probe(o: { timeoutMs: number; target?: { host: string; port: number }; interfaceAddress?: string }): Promise<FoundCamera[]> {
  const messageId = `urn:uuid:${randomUUID()}`;
  const socket = createSocket({ type: 'udp4' });
  const found = new Map<string, FoundCamera>();
  socket.on('message', (msg, from) => {
    for (const c of parseProbeMatches(msg.toString('utf8'), messageId, `${from.address}:${from.port}`)) found.set(c.endpoint || c.xaddrs[0]!, c);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, o.target ? undefined : o.interfaceAddress, () => resolve());
  });
  try {
    if (!o.target && o.interfaceAddress) socket.setMulticastInterface(o.interfaceAddress);
    const to = o.target ?? { host: WSD_GROUP, port: WSD_PORT };
    const xml = probeXml(messageId);
    // UDP may lose the probe: send it twice (WS-Discovery's repeat of multicast messages).
    for (let i = 0; i < 2; i++) await new Promise<void>((resolve, reject) => socket.send(xml, to.port, to.host, (e) => (e ? reject(e) : resolve())));
    await new Promise((r) => setTimeout(r, o.timeoutMs));
  } finally {
    socket.close();
  }
  return [...found.values()];
}

/** `gateway discover onvif …`: the text to print. Bad usage throws an Error saying how to fix it. */
export async function discoverCommand(args: readonly string[]): Promise<string> {
  const { values } = parseArgs({
    args: [...args],
    options: { interface: { type: 'string' }, timeout: { type: 'string' }, target: { type: 'string' } },
  });
  let target: { host: string; port: number } | undefined;
  if (values.target !== undefined) {
    const m = /^(.+):(\d{1,5})$/.exec(values.target);
    if (!m) throw new Error(`--target ${values.target}: give host:port, e.g. 192.168.1.64:3702`);
    target = { host: m[1]!, port: Number(m[2]) };
  }
  const timeoutMs = duration(values.timeout ?? '3s');
  const cams = await probe({ timeoutMs, target, interfaceAddress: values.interface ? interfaceAddress(values.interface) : undefined });
  const where = target ? `${target.host}:${target.port}` : `${WSD_GROUP}:${WSD_PORT}${values.interface ? ` on ${values.interface}` : ''}`;
  if (cams.length === 0) return `# no ONVIF camera answered a probe to ${where} within ${timeoutMs} ms`;
  return [
    `# ${cams.length} ONVIF camera(s) answered a probe to ${where}; under devices: of an onvif-camera driver:`,
    ...cams.map((c, i) => snippet(c, i + 1)),
  ].join('\n');
}
