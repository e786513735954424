/**
 * WS-Discovery (OASIS WS-Discovery 1.1, ONVIF Core §7): a real Probe for dn:NetworkVideoTransmitter,
 * sent over UDP straight to the responder's port on 127.0.0.1, gets a unicast ProbeMatch with the
 * camera's XAddrs and scopes.
 */
import { createSocket } from 'node:dgram';
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { OnvifCameraSimulator } from './camera.js';

let sim: OnvifCameraSimulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

const probe = (messageId: string, types: string) =>
  `<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" ` +
  `xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing"><s:Header>` +
  `<a:Action s:mustUnderstand="1">http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</a:Action>` +
  `<a:MessageID>${messageId}</a:MessageID><a:ReplyTo><a:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:Address></a:ReplyTo>` +
  `<a:To s:mustUnderstand="1">urn:schemas-xmlsoap-org:ws:2005:04:discovery</a:To></s:Header><s:Body>` +
  `<d:Probe xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery" xmlns:dn="http://www.onvif.org/ver10/network/wsdl">` +
  `<d:Types>${types}</d:Types></d:Probe></s:Body></s:Envelope>`;

/** Sends `xml` to 127.0.0.1:port and collects the answers for `ms`. */
async function ask(port: number, xml: string, ms = 1500): Promise<string[]> {
  const sock = createSocket('udp4');
  const got: string[] = [];
  sock.on('message', (m) => got.push(m.toString('utf8')));
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  await new Promise<void>((resolve, reject) => sock.send(xml, port, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
  await new Promise((r) => setTimeout(r, ms));
  await new Promise<void>((r) => sock.close(() => r()));
  return got;
}

describe('WS-Discovery responder of the simulated camera', { timeout: 30_000 }, () => {
  it('answers a Probe for dn:NetworkVideoTransmitter with a ProbeMatch naming XAddrs and scopes', async () => {
    sim = new OnvifCameraSimulator({ username: 'admin', password: 'pw', discoveryPort: 0, identity: { name: 'Gate Cam 1', hardwareId: 'SV-IPC-T1' } });
    await sim.start();
    const id = `urn:uuid:${randomUUID()}`;
    const [answer, ...more] = await ask(sim.discoveryPort!, probe(id, 'dn:NetworkVideoTransmitter'));
    expect(more).toEqual([]);
    expect(answer).toContain(`<wsa:RelatesTo>${id}</wsa:RelatesTo>`);
    expect(answer).toContain('<wsd:ProbeMatches><wsd:ProbeMatch>');
    expect(answer).toContain(`<wsd:XAddrs>${sim.deviceUrl}</wsd:XAddrs>`);
    expect(answer).toContain('onvif://www.onvif.org/name/Gate%20Cam%201');
    expect(answer).toContain('onvif://www.onvif.org/hardware/SV-IPC-T1');
  });

  it('stays silent for other device types and for what is not a Probe', async () => {
    sim = new OnvifCameraSimulator({ username: 'admin', password: 'pw', discoveryPort: 0 });
    await sim.start();
    expect(await ask(sim.discoveryPort!, probe('urn:uuid:1', 'p:Printer'))).toEqual([]);
    expect(await ask(sim.discoveryPort!, 'hello')).toEqual([]);
  });
});
