import { describe, expect, it } from 'vitest';
import { EventEnvelope, newEventId, stampEvent } from './envelope.js';

describe('event ids', () => {
  it('are UUIDv7, unique and strictly increasing within the process, also within one millisecond', () => {
    const ids = Array.from({ length: 5_000 }, () => newEventId());
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    // The first 48 bits are the creation time in ms.
    const ms = parseInt(ids.at(-1)!.replaceAll('-', '').slice(0, 12), 16);
    expect(Math.abs(ms - Date.now())).toBeLessThan(60_000);
  });

  it('a stamped envelope is valid against the contract', () => {
    const env = stampEvent(
      { deviceId: 'gas-1', type: 'gas.reading', kind: 'telemetry', severity: 'info', data: { lel: 1 } },
      { site: 's', gateway: 'g', seq: 1, device: { id: 'gas-1', family: 'gas-detector', tags: [] } },
    );
    expect(EventEnvelope.parse(env)).toEqual(env);
  });
});
