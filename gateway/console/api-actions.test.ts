/** The actions that fit an alarm: place (self, zone, building), tags, role, arguments from the triggering event. */
import { describe, expect, it } from 'vitest';
import { actionsFor, type SiteDevice } from './api-actions.js';

const dev = (id: string, family: string, building: string, zone: string, commands: string[], tags: string[] = []): SiteDevice => ({
  id,
  family,
  building,
  zone,
  tags,
  commands,
});
const GATE = ['door.open', 'door.close', 'door.always-open', 'door.always-close', 'door.resume'];
const SIREN = ['output.on', 'output.off', 'siren.on', 'siren.off'];
const devices = [
  dev('gate-b3', 'access-gate', 'B3', 'east-door', GATE),
  dev('gate-b1', 'access-gate', 'B1', 'entrance', GATE),
  dev('siren-b3-lobby', 'io-module', 'B3', 'lobby', SIREN, ['siren']),
  dev('siren-b3-hall', 'io-module', 'B3', 'hall', SIREN, ['siren']),
  dev('relay-b3-lobby', 'io-module', 'B3', 'lobby', ['output.on', 'output.off']),
  dev('pile-b3', 'ebike-pile', 'B3', 'shed', ['port.cut', 'port.restore', 'pile.cut-all']),
  dev('ev-1', 'ev-charger', 'B3', 'garage', ['remote-start', 'remote-stop', 'reset']),
];
const alarm = (id: string, building: string, zone: string, data: Record<string, unknown> = {}) => ({
  device: { id, family: 'x', building, zone, tags: [] },
  devices: [id],
  trigger: { eventId: 'e', type: 't', receivedAt: '2026-11-30T00:00:00Z', data },
});
const list = (a: ReturnType<typeof alarm>, role: string) => actionsFor(a, devices, role).map((x) => `${x.device} ${x.command} ${JSON.stringify(x.args)}`);

describe('actions that fit an alarm', () => {
  it('offers the building gates and the zone sirens; the admin-only siren.on to admins only', () => {
    const sos = alarm('sos-b3-lobby', 'B3', 'lobby');
    expect(list(sos, 'reader')).toEqual([
      'siren-b3-lobby siren.off {}',
      'gate-b3 door.open {}',
      'gate-b3 door.always-open {}',
      'gate-b3 door.resume {}',
    ]);
    expect(list(sos, 'admin')).toContain('siren-b3-lobby siren.on {}');
    expect(list(sos, 'admin').some((a) => a.startsWith('siren-b3-hall') || a.startsWith('relay') || a.startsWith('gate-b1'))).toBe(false);
  });

  it('cuts the port of the triggering event; none when the event names no port', () => {
    expect(list(alarm('pile-b3', 'B3', 'shed', { port: 4, celsius: 80 }), 'reader')).toEqual(['pile-b3 port.cut {"port":4}', 'gate-b3 door.open {}', 'gate-b3 door.always-open {}', 'gate-b3 door.resume {}']);
    expect(list(alarm('pile-b3', 'B3', 'shed', { celsius: 80 }), 'admin').filter((a) => a.startsWith('pile-b3'))).toEqual([]);
    expect(list(alarm('ev-1', 'B3', 'garage', { connectorId: 2 }), 'reader')).toContain('ev-1 remote-stop {"connectorId":2}');
  });

  it('offers nothing by place for an alarm without a building (only its own devices)', () => {
    expect(list(alarm('gate-b1', '', ''), 'reader')).toEqual(['gate-b1 door.open {}', 'gate-b1 door.always-open {}', 'gate-b1 door.resume {}']);
  });
});
