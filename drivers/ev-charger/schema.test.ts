import { describe, expect, it } from 'vitest';
import { EvChargerConfig } from './schema.js';

const base = { id: 'piles', family: 'ev-charger', listen: { port: 9000 } };
const hash = `scrypt$16384$8$1$${Buffer.alloc(16, 1).toString('base64')}$${Buffer.alloc(32, 2).toString('base64')}`;

describe('EvChargerConfig', () => {
  it('takes a pile with its password hash, with defaults', () => {
    const c = EvChargerConfig.parse({ ...base, devices: [{ id: 'cp-1', passwordHash: hash }] });
    expect(c).toMatchObject({ heartbeatIntervalS: 60, remoteStartTimeoutMs: 60_000, devices: [{ id: 'cp-1', connectors: 1, tags: [] }] });
    expect(c.listen.host).toBe('127.0.0.1');
    // Offline after 2.5 heartbeat intervals.
    expect(c.livenessTimeoutMs).toBe(150_000);
  });

  it('refuses a plain password where the hash goes, naming the path and how to make a hash', () => {
    const r = EvChargerConfig.safeParse({ ...base, devices: [{ id: 'cp-1', passwordHash: 'secret' }] });
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]).toMatchObject({ path: ['devices', 0, 'passwordHash'], message: expect.stringContaining('gateway hash-password') });
  });

  it('refuses an idTag longer than OCPP allows (CiString20Type)', () => {
    const r = EvChargerConfig.safeParse({ ...base, idTags: ['X'.repeat(21)], devices: [{ id: 'cp-1', passwordHash: hash }] });
    expect(r.error?.issues[0]?.path).toEqual(['idTags', 0]);
  });

  it('derives the liveness timeout from heartbeatIntervalS unless the site file sets it', () => {
    const devices = [{ id: 'cp-1', passwordHash: hash }];
    expect(EvChargerConfig.parse({ ...base, heartbeatIntervalS: 300, devices }).livenessTimeoutMs).toBe(750_000);
    expect(EvChargerConfig.parse({ ...base, heartbeatIntervalS: 300, livenessTimeoutMs: 20_000, devices }).livenessTimeoutMs).toBe(20_000);
  });
});
