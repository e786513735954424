/** check-config runs each family's check of its driver entries against the rest of the site file. */
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfigText } from './load.js';

describe('family checks against the site', () => {
  it('streetlights: a sun schedule on a site without latitude and longitude is refused with its path and line', () => {
    const site = (where: string) => `site: { id: demo${where} }
gateway: { id: gw-01 }
drivers:
  - family: streetlight
    id: lights
    transport: { type: tcp, port: 1502 }
    schedules:
      road: { on: sunset+15m, off: sunrise-10m }
      yard: { on: '18:30', off: '06:00' }
    devices: [{ id: p1, unitId: 1, group: road }, { id: p2, unitId: 2, group: yard }]
`;
    let err: unknown;
    try {
      parseConfigText('site.yaml', site(''));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems.map((p) => [p.path, p.line])).toEqual([['drivers[0].schedules.road', 8]]);
    expect((err as ConfigError).problems[0]!.message).toMatch(/add latitude: and longitude: under site:/);
    // With the site's location (or fixed times only) it loads.
    expect(parseConfigText('site.yaml', site(', latitude: 31.23, longitude: 121.47')).drivers).toHaveLength(1);
  });
});
