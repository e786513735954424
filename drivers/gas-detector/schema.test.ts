import { describe, expect, it } from 'vitest';
import { GasDetectorConfig } from './schema.js';

const issues = (input: unknown) =>
  (GasDetectorConfig.safeParse(input).error?.issues ?? []).map((i) => ({
    path: i.path.join('.'),
    message: i.message,
  }));

describe('gas-detector config', () => {
  it('fills the documented defaults', () => {
    const cfg = GasDetectorConfig.parse({
      family: 'gas-detector',
      id: 'gas-bus-1',
      transport: { type: 'tcp' },
      devices: [{ id: 'gas-1', unitId: 1 }],
    });
    expect(cfg).toMatchObject({
      enabled: true,
      transport: { type: 'tcp', host: '127.0.0.1', port: 502 },
      pollIntervalMs: 1000,
      timeoutMs: 500,
      reportIntervalMs: 60_000,
      lelDeadband: 1,
      backoff: { initialMs: 2000, maxMs: 60_000 },
      offlineAfterFailures: 3,
      devices: [{ id: 'gas-1', unitId: 1, model: 'generic-lel', tags: [] }],
    });
    const rtu = GasDetectorConfig.parse({
      family: 'gas-detector',
      id: 'gas-bus-2',
      transport: { type: 'rtu', path: '/dev/ttyUSB0' },
      devices: [],
    });
    expect(rtu.transport).toEqual({
      type: 'rtu',
      path: '/dev/ttyUSB0',
      baudRate: 9600,
      parity: 'none',
      dataBits: 8,
      stopBits: 1,
    });
  });

  it('reports unknown keys, bad ranges and duplicates with their paths', () => {
    const found = issues({
      family: 'gas-detector',
      id: 'gas-bus-1',
      transport: { type: 'rtu', path: '/dev/ttyS0', parity: 'mark', speed: 9600 },
      pollIntervalMs: 50,
      colour: 'red',
      devices: [
        { id: 'gas-1', unitId: 1 },
        { id: 'gas-1', unitId: 2, model: 'acme-9000' },
        { id: 'gas-3', unitId: 1 },
        { id: 'gas-4', unitId: 248 },
      ],
    });
    const paths = found.map((i) => i.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        '',
        'transport',
        'transport.parity',
        'pollIntervalMs',
        'devices.1.model',
        'devices.3.unitId',
      ]),
    );
    expect(found.find((i) => i.path === '')?.message).toMatch(/colour/);
    expect(found.find((i) => i.path === 'transport')?.message).toMatch(/speed/);
    // duplicates are reported together with the other problems
    expect(found).toEqual(
      expect.arrayContaining([
        {
          path: 'devices.1.id',
          message: expect.stringMatching(/device id "gas-1" is already used by devices\[0\]/),
        },
        {
          path: 'devices.2.unitId',
          message: expect.stringMatching(/unit id 1 is already used by devices\[0\]/),
        },
      ]),
    );

    const dup = issues({
      family: 'gas-detector',
      id: 'gas-bus-1',
      transport: { type: 'tcp' },
      devices: [
        { id: 'gas-1', unitId: 1 },
        { id: 'gas-1', unitId: 2 },
        { id: 'gas-3', unitId: 1 },
      ],
    });
    expect(dup).toEqual([
      {
        path: 'devices.1.id',
        message: expect.stringMatching(/device id "gas-1" is already used by devices\[0\]/),
      },
      {
        path: 'devices.2.unitId',
        message: expect.stringMatching(/unit id 1 is already used by devices\[0\] on this bus/),
      },
    ]);
  });
});
