/**
 * WS-Discovery responder of the simulated camera (OASIS WS-Discovery 1.1, ONVIF Core §7): a Probe
 * whose Types are empty or name `dn:NetworkVideoTransmitter` (or `tds:Device`) gets a unicast
 * ProbeMatch back to its sender, with the camera's XAddrs and scopes. It listens on a UDP port of
 * 127.0.0.1's wildcard (3702 is the standard one; 0 picks a free one for tests) and joins the
 * group 239.255.255.250 where the system lets it (on a loopback without the MULTICAST flag it
 * cannot: then only probes sent straight to the port are answered).
 */
import { randomUUID } from 'node:crypto';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { type CameraIdentity, scopes } from './services.js';
import { escapeXml, path, text } from './soap.js';

export const WS_DISCOVERY_GROUP = '239.255.255.250';
export const WS_DISCOVERY_PORT = 3702;
const NS_DISCOVERY = 'http://schemas.xmlsoap.org/ws/2005/04/discovery';
const NS_ADDRESSING = 'http://schemas.xmlsoap.org/ws/2004/08/addressing';

export interface DiscoveryOptions {
  port: number;
  identity: CameraIdentity;
  /** The device service address, asked at each probe (the HTTP port is known after start). */
  xaddr: () => string;
  /** Bind address (default all, so multicast can arrive). */
  address?: string;
  log?: (line: string) => void;
}

const parser = new XMLParser({ ignoreAttributes: true, removeNSPrefix: true, parseTagValue: false });

/** The Probe's MessageID and Types when `xml` is a WS-Discovery Probe, else undefined. */
export function parseProbe(xml: string): { messageId: string; types: string[] } | undefined {
  if (XMLValidator.validate(xml) !== true) return undefined;
  const doc = parser.parse(xml) as Record<string, unknown>;
  const probe = path(doc, 'Envelope', 'Body', 'Probe');
  if (probe === undefined) return undefined;
  const types = (text(path(probe, 'Types')) ?? '').split(/\s+/).filter(Boolean);
  return { messageId: text(path(doc, 'Envelope', 'Header', 'MessageID')) ?? '', types };
}

/** Local part of each QName asked for; an empty list matches any device. */
export const probeMatches = (types: string[]): boolean =>
  types.length === 0 || types.some((t) => ['NetworkVideoTransmitter', 'Device'].includes(t.split(':').pop()!));

export class CameraDiscovery {
  private socket?: Socket;
  readonly endpoint = `urn:uuid:${randomUUID()}`;
  /** Whether the group 239.255.255.250 was joined. */
  multicast = false;

  constructor(private readonly o: DiscoveryOptions) {}

  get port(): number {
    return this.socket?.address().port ?? 0;
  }

  async start(): Promise<void> {
    const s = createSocket({ type: 'udp4', reuseAddr: true });
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.bind(this.o.port, this.o.address, () => resolve());
    });
    try {
      s.addMembership(WS_DISCOVERY_GROUP);
      this.multicast = true;
    } catch (e) {
      this.o.log?.(`ws-discovery: cannot join ${WS_DISCOVERY_GROUP} (${(e as Error).message}); answering unicast probes only`);
    }
    s.on('message', (msg, from) => this.onMessage(msg.toString('utf8'), from));
    this.socket = s;
  }

  async close(): Promise<void> {
    const s = this.socket;
    this.socket = undefined;
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }

  private onMessage(xml: string, from: RemoteInfo): void {
    const probe = parseProbe(xml);
    if (!probe || !probeMatches(probe.types)) return;
    const answer = this.probeMatch(probe.messageId);
    this.socket?.send(answer, from.port, from.address, (e) => e && this.o.log?.(`ws-discovery: ${e.message}`));
  }

  probeMatch(relatesTo: string): string {
    return (
      `<?xml version="1.0" encoding="UTF-8"?>\n<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://www.w3.org/2003/05/soap-envelope" ` +
      `xmlns:wsa="${NS_ADDRESSING}" xmlns:wsd="${NS_DISCOVERY}" xmlns:dn="http://www.onvif.org/ver10/network/wsdl" ` +
      `xmlns:tds="http://www.onvif.org/ver10/device/wsdl"><SOAP-ENV:Header>` +
      `<wsa:MessageID>urn:uuid:${randomUUID()}</wsa:MessageID><wsa:RelatesTo>${escapeXml(relatesTo)}</wsa:RelatesTo>` +
      `<wsa:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</wsa:To>` +
      `<wsa:Action>${NS_DISCOVERY}/ProbeMatches</wsa:Action>` +
      `<wsd:AppSequence InstanceId="1" MessageNumber="1"/></SOAP-ENV:Header><SOAP-ENV:Body><wsd:ProbeMatches><wsd:ProbeMatch>` +
      `<wsa:EndpointReference><wsa:Address>${this.endpoint}</wsa:Address></wsa:EndpointReference>` +
      `<wsd:Types>dn:NetworkVideoTransmitter tds:Device</wsd:Types>` +
      `<wsd:Scopes>${scopes(this.o.identity).map(escapeXml).join(' ')}</wsd:Scopes>` +
      `<wsd:XAddrs>${escapeXml(this.o.xaddr())}</wsd:XAddrs><wsd:MetadataVersion>1</wsd:MetadataVersion>` +
      `</wsd:ProbeMatch></wsd:ProbeMatches></SOAP-ENV:Body></SOAP-ENV:Envelope>`
    );
  }
}
