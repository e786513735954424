/** The pure parts: site-file checks, the preset lookup, reading notifications, WS-Discovery answers. */
import { describe, expect, it } from 'vitest';
import { parseProbeMatches, probeXml, snippet } from './discovery.js';
import { presetFor } from './presets.js';
import { CameraDevice, CameraWatches, OnvifCameraConfig } from './schema.js';
import { readNotification, topicTable } from './topics.js';

const cam = { id: 'cam-1', host: '10.0.0.9', username: 'admin', passwordFile: '/etc/gw/cam-1', presets: { Gate: 1, Yard: '2' } };

describe('site file', () => {
  it('takes presets by name (tokens as strings) and refuses an unknown preset name where it is used', () => {
    expect(CameraDevice.parse(cam).presets).toEqual({ Gate: '1', Yard: '2' });
    const bad = CameraDevice.safeParse({ ...cam, watches: { zones: ['B1'], preset: 'Roof', presetFor: { 'B1/lobby': 'Lift' } } });
    expect(bad.success).toBe(false);
    expect(bad.error!.issues.map((i) => [i.path.join('.'), i.message])).toEqual([
      ['watches.preset', 'no preset "Roof" in presets (Gate, Yard): add it to presets as Roof: <token>'],
      ['watches.presetFor.B1/lobby', 'no preset "Lift" in presets (Gate, Yard): add it to presets as Lift: <token>'],
    ]);
  });

  it('never takes a password, and needs one of username / usernameFile', () => {
    expect(CameraDevice.safeParse({ ...cam, password: 'x' }).success).toBe(false);
    const none = CameraDevice.safeParse({ ...cam, username: undefined });
    expect(none.error!.issues[0]).toMatchObject({ path: ['username'], message: 'give either username or usernameFile (one of them)' });
    expect(CameraDevice.safeParse({ ...cam, usernameFile: '/etc/gw/u' }).success).toBe(false);
    expect(OnvifCameraConfig.parse({ id: 'c', family: 'onvif-camera', devices: [cam] })).toMatchObject({ pollIntervalMs: 30_000, requestTimeoutMs: 5000 });
  });
});

describe('preset for an alarm device', () => {
  const w = CameraWatches.parse({ zones: ['B1'], preset: 'Gate', presetFor: { 'gas-1': 'Yard', 'B1/lobby': 'Lift', B2: 'Roof' } });
  it('its own, its zone\'s, its building\'s, else the camera\'s preset; none without watches', () => {
    expect(presetFor(w, { device: 'gas-1', building: 'B1', zone: 'lobby' })).toBe('Yard');
    expect(presetFor(w, { device: 'gas-2', building: 'B1', zone: 'lobby' })).toBe('Lift');
    expect(presetFor(w, { device: 'gas-3', building: 'B2', zone: 'x' })).toBe('Roof');
    expect(presetFor(w, { device: 'gas-4', building: 'B1', zone: 'x' })).toBe('Gate');
    expect(presetFor(undefined, { device: 'gas-1' })).toBeUndefined();
  });
});

describe('notifications', () => {
  const table = topicTable([{ topic: 'acme:Alarm/Door', event: 'camera.tamper', state: 'Open' }]);
  const msg = (topic: string, data: unknown, op = 'Changed') => ({
    topic: { _: topic },
    message: { message: { $: { PropertyOperation: op }, source: { simpleItem: { $: { Name: 'Rule', Value: 'R1' } } }, data: { simpleItem: data } } },
  });
  it('reads built-in and site topics (any namespace prefix), ignores unknown ones, refuses unreadable ones', () => {
    expect(readNotification(msg('tns1:RuleEngine/CellMotionDetector/Motion', { $: { Name: 'IsMotion', Value: true } }), table)).toMatchObject({
      on: true,
      rule: 'R1',
      initialized: false,
      mapping: { event: 'camera.motion' },
    });
    expect(readNotification(msg('x:Alarm/Door', [{ $: { Name: 'Open', Value: '1' } }], 'Initialized'), table)).toMatchObject({ on: true, initialized: true });
    expect(readNotification(msg('tns1:Device/Trigger/DigitalInput', {}), table)).toBeUndefined();
    expect(readNotification(msg('tns1:VideoSource/SignalLoss', { $: { Name: 'State', Value: 'maybe' } }), table)).toEqual(
      new Error('tns1:VideoSource/SignalLoss: data item State is "maybe", not true/false'),
    );
    expect(readNotification({}, table)).toEqual(new Error('notification without a topic'));
  });

  it('reads the zone item of a site topic that names one', () => {
    const zoned = topicTable([{ topic: 'acme:Motion/Region', event: 'camera.motion', state: 'On', rule: 'Rule', zone: 'Region' }]);
    const data = [{ $: { Name: 'On', Value: 'true' } }, { $: { Name: 'Region', Value: 'Corridor' } }];
    expect(readNotification(msg('acme:Motion/Region', data), zoned)).toMatchObject({ on: true, rule: 'R1', zone: 'Corridor' });
    expect(readNotification(msg('tns1:RuleEngine/CellMotionDetector/Motion', { $: { Name: 'IsMotion', Value: true } }), zoned)).not.toHaveProperty('zone');
  });
});

describe('WS-Discovery', () => {
  const id = 'urn:uuid:1';
  const match = `<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope" xmlns:a="a" xmlns:d="d"><e:Header><a:RelatesTo>${id}</a:RelatesTo></e:Header>
    <e:Body><d:ProbeMatches><d:ProbeMatch><a:EndpointReference><a:Address>urn:uuid:cam</a:Address></a:EndpointReference>
    <d:Scopes>onvif://www.onvif.org/name/Gate%20Cam onvif://www.onvif.org/hardware/DS-2CD2143</d:Scopes>
    <d:XAddrs>http://192.168.1.64:8000/onvif/device_service</d:XAddrs></d:ProbeMatch></d:ProbeMatches></e:Body></e:Envelope>`;
  it('reads answers to our probe only, and prints a site-file entry', () => {
    expect(probeXml(id)).toContain('<d:Types>dn:NetworkVideoTransmitter</d:Types>');
    const found = parseProbeMatches(match, id, '192.168.1.64:3702');
    expect(found).toEqual([
      { endpoint: 'urn:uuid:cam', xaddrs: ['http://192.168.1.64:8000/onvif/device_service'], scopes: expect.any(Array), from: '192.168.1.64:3702' },
    ]);
    expect(parseProbeMatches(match, 'urn:uuid:other', 'x')).toEqual([]);
    expect(parseProbeMatches('<not xml', id, 'x')).toEqual([]);
    const s = snippet(found[0]!, 1);
    expect(s).toContain('# DS-2CD2143 "Gate Cam" at http://192.168.1.64:8000/onvif/device_service');
    expect(s).toContain('- id: cam-gate-cam\n  name: "Gate Cam"\n  host: 192.168.1.64\n  port: 8000\n');
  });
});
